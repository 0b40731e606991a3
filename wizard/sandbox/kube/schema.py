"""Structural-schema handling for custom resources: pruning, defaulting and validation.

Follows what the API server does with a CRD's ``openAPIV3Schema``: unknown fields are pruned
(unless ``x-kubernetes-preserve-unknown-fields``), ``null`` in non-nullable fields is dropped,
``default`` values are filled in, then the object is validated and every error is reported with
its field path, in the real server's words (``spec.trainingJobName: Required value``).
CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})")


def _type_name(value: Any) -> str:
    """The JSON type of a value, named as OpenAPI names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _render(value: Any) -> str:
    """A value as the Go validator quotes it in messages."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return json.dumps(_type_name(value))
    return json.dumps(value)


def _join(path: str, key: str) -> str:
    """A child's field path."""
    return f"{path}.{key}" if path else key


def prune(value: Any, schema: dict[str, Any] | None, root: bool = False) -> Any:
    """Drop fields the schema does not know and nulls it does not allow; returns the result."""
    if schema is None or not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or \
            schema.get("x-kubernetes-embedded-resource")
        out = {}
        for key, child in value.items():
            if root and key in ("apiVersion", "kind", "metadata"):
                out[key] = child
                continue
            sub = props.get(key)
            if sub is None and isinstance(addl, dict):
                sub = addl
            if sub is None and not (addl is True or preserve):
                continue
            if child is None and sub is not None and not sub.get("nullable"):
                continue
            out[key] = prune(child, sub) if sub is not None else child
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [prune(v, items) for v in value] if isinstance(items, dict) else value
    return value


def apply_defaults(value: Any, schema: dict[str, Any] | None) -> Any:
    """Fill in ``default`` values for absent properties, recursively."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = json.loads(json.dumps(sub["default"]))
            if key in value:
                value[key] = apply_defaults(value[key], sub)
        addl = schema.get("additionalProperties")
        if isinstance(addl, dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    value[key] = apply_defaults(value[key], addl)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(v, schema["items"]) for v in value]
    return value


def _cause(field: str, reason: str, message: str) -> dict[str, str]:
    """One StatusCause."""
    return {"reason": reason, "message": message, "field": field}


def validate(value: Any, schema: dict[str, Any] | None, path: str = "",
             root: bool = True) -> list[dict[str, str]]:
    """Every violation of ``schema`` in ``value`` as StatusCauses with field paths."""
    if not isinstance(schema, dict):
        return []
    errors: list[dict[str, str]] = []
    _check(value, schema, path, errors, root)
    return errors


def _type_ok(value: Any, want: str, schema: dict[str, Any]) -> bool:
    """Whether ``value`` has the declared OpenAPI type."""
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    have = _type_name(value)
    if want == "number":
        return have in ("integer", "number")
    if want == "integer" and have == "number":
        return float(value).is_integer()
    return have == want


def _check(value: Any, schema: dict[str, Any], path: str, errors: list, root: bool) -> None:
    """Validate one node and recurse into its children."""
    want = schema.get("type")
    if value is None:
        if not schema.get("nullable") and want:
            errors.append(_cause(path, "FieldValueTypeInvalid",
                                 f'Invalid value: "null": {path} in body must be of type {want}: '
                                 f'"null"'))
        return
    if want and not _type_ok(value, want, schema):
        errors.append(_cause(path, "FieldValueTypeInvalid",
                             f"Invalid value: {json.dumps(_type_name(value))}: {path} in body must "
                             f"be of type {want}: {json.dumps(_type_name(value))}"))
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(_cause(path, "FieldValueNotSupported",
                             f"Unsupported value: {_render(value)}: supported values: {allowed}"))
    if isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)
    elif isinstance(value, dict):
        _check_object(value, schema, path, errors, root)
    elif isinstance(value, list):
        items = schema.get("items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(_cause(path, "FieldValueTooMany",
                                 f"Too many: {len(value)}: must have at most {schema['maxItems']} "
                                 "items"))
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(_cause(path, "FieldValueInvalid",
                                 f"Invalid value: {len(value)}: {path} in body should have at least "
                                 f"{schema['minItems']} items"))
        if isinstance(items, dict):
            for n, item in enumerate(value):
                _check(item, items, f"{path}[{n}]", errors, False)


def _check_string(value: str, schema: dict[str, Any], path: str, errors: list) -> None:
    """String constraints: length, pattern, date-time format."""
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(_cause(path, "FieldValueTooLong",
                             f"Too long: may not be more than {schema['maxLength']} bytes"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(_cause(path, "FieldValueInvalid",
                             f"Invalid value: {_render(value)}: {path} in body should be at least "
                             f"{schema['minLength']} chars long"))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(_cause(path, "FieldValueInvalid",
                             f"Invalid value: {_render(value)}: {path} in body should match "
                             f"'{schema['pattern']}'"))
    if schema.get("format") == "date-time" and not _DATE_TIME.fullmatch(value):
        errors.append(_cause(path, "FieldValueInvalid",
                             f"Invalid value: {_render(value)}: {path} in body must be of type "
                             f"date-time: {_render(value)}"))


def _check_number(value: float, schema: dict[str, Any], path: str, errors: list) -> None:
    """Numeric bounds."""
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(_cause(path, "FieldValueInvalid",
                             f"Invalid value: {value}: {path} in body should be less than or equal "
                             f"to {schema['maximum']}"))
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(_cause(path, "FieldValueInvalid",
                             f"Invalid value: {value}: {path} in body should be greater than or "
                             f"equal to {schema['minimum']}"))


def _check_object(value: dict, schema: dict[str, Any], path: str, errors: list,
                  root: bool) -> None:
    """Required properties, then each property (or map value) against its schema."""
    for req in schema.get("required") or []:
        if req not in value:
            errors.append(_cause(_join(path, req), "FieldValueRequired", "Required value"))
    props = schema.get("properties") or {}
    addl = schema.get("additionalProperties")
    for key, child in value.items():
        if root and key == "metadata":
            continue
        sub = props.get(key)
        if sub is None and isinstance(addl, dict):
            sub = addl
        if isinstance(sub, dict):
            _check(child, sub, _join(path, key), errors, False)


def unknown_fields(value: Any, schema: dict[str, Any] | None, path: str = "",
                   root: bool = True) -> list[str]:
    """Paths of fields pruning would drop (for ``fieldValidation=Strict|Warn``)."""
    if not isinstance(schema, dict):
        return []
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or \
            schema.get("x-kubernetes-embedded-resource")
        for key, child in value.items():
            if root and key in ("apiVersion", "kind", "metadata"):
                continue
            sub = props.get(key)
            if sub is None and isinstance(addl, dict):
                sub = addl
            if sub is None:
                if not (addl is True or preserve):
                    out.append(_join(path, key))
                continue
            out += unknown_fields(child, sub, _join(path, key), False)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for n, item in enumerate(value):
            out += unknown_fields(item, schema["items"], f"{path}[{n}]", False)
    return out
