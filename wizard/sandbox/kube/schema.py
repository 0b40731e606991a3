"""Structural-schema handling for custom resources: pruning, defaulting and validation.

Follows what the API server does with a CRD's ``openAPIV3Schema``: unknown fields are pruned
(unless ``x-kubernetes-preserve-unknown-fields``), ``null`` in non-nullable fields is dropped,
``default`` values are filled in, then the object is validated and every error is reported with
its field path, in the real server's words (``spec.trainingJobName: Required value``).
Validation is ``jsonschema``'s; this module words its errors as kube-apiserver does.
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
    """Every violation of ``schema`` in ``value`` as StatusCauses with field paths.

    ``jsonschema`` checks the value (its Draft 4 validator: OpenAPI v3.0's schema object is
    Draft 4's, plus ``nullable``, ``x-kubernetes-int-or-string`` and integers written ``1.0``,
    which :func:`_openapi_type` adds); each error is then worded as kube-apiserver words it.
    Like the API server: ``metadata`` is the API server's own business at the root, a value
    of the wrong type gets that one error (nothing about its contents), and a ``null`` that
    is allowed is not checked further.
    """
    if not isinstance(schema, dict):
        return []
    if root and isinstance(value, dict) and "metadata" in value:
        value = {k: v for k, v in value.items() if k != "metadata"}
    errors = [e for e in _validator(schema).iter_errors(value) if _reported(e)]
    mistyped = [tuple(e.absolute_path) for e in errors if e.validator == "type"]
    causes = []
    for error in errors:
        where = tuple(error.absolute_path)
        if error.validator != "type" and any(where[:len(t)] == t for t in mistyped):
            continue  # inside (or at) a value of the wrong type: the type error says it all
        cause = _cause_of(error, _field(path, where))
        if cause not in causes:
            causes.append(cause)
    return causes


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


def _openapi_type(validator: Any, want: Any, instance: Any, schema: dict[str, Any]):
    """The ``type`` keyword as OpenAPI v3 and Kubernetes read it."""
    from jsonschema import ValidationError

    if instance is None and schema.get("nullable"):
        return
    wanted = want if isinstance(want, list) else [want]
    if instance is not None and any(_type_ok(instance, w, schema) for w in wanted):
        return
    yield ValidationError(f"{_type_name(instance)} is not of type {want}")


def _required(validator: Any, required: Any, instance: Any, schema: dict[str, Any]):
    """``required``, with each missing field in the error's path (Kubernetes names the field
    that is missing, not the object that lacks it)."""
    from jsonschema import ValidationError

    if isinstance(instance, dict):
        for name in required:
            if name not in instance:
                yield ValidationError(f"{name!r} is a required property", path=(name,))


def _validator(schema: dict[str, Any]) -> Any:
    """A jsonschema validator for one OpenAPI v3 schema (date-time checked, other formats not:
    the API server checks only the formats it knows, and the lab's CRDs use date-time)."""
    from jsonschema import Draft4Validator, FormatChecker, validators

    global _OpenApiValidator, _FORMATS
    if _OpenApiValidator is None:
        _OpenApiValidator = validators.extend(
            Draft4Validator, {"type": _openapi_type, "required": _required})
        _FORMATS = FormatChecker(formats=())
        _FORMATS.checks("date-time")(lambda text: not isinstance(text, str)
                                     or bool(_DATE_TIME.fullmatch(text)))
    return _OpenApiValidator(schema, format_checker=_FORMATS)


_OpenApiValidator: Any = None
_FORMATS: Any = None


def _reported(error: Any) -> bool:
    """Whether the API server reports this error (it prunes unknown fields rather than refuse
    them, and checks nothing but the type of a ``null``)."""
    if error.validator == "additionalProperties" and not isinstance(error.validator_value, dict):
        return False
    return error.instance is not None or error.validator == "type"


def _field(base: str, where: tuple) -> str:
    """A field path as Kubernetes writes it: ``spec.tags[0].key``."""
    out = base
    for part in where:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, str(part))
    return out


def _cause_of(error: Any, path: str) -> dict[str, str]:
    """One jsonschema error as the StatusCause kube-apiserver sends for it."""
    keyword, limit, value = error.validator, error.validator_value, error.instance
    if keyword == "type":
        have = json.dumps(_type_name(value))
        return _cause(path, "FieldValueTypeInvalid",
                      f"Invalid value: {have}: {path} in body must be of type {limit}: {have}")
    if keyword == "required":  # the path names the missing field (see _required)
        return _cause(path, "FieldValueRequired", "Required value")
    if keyword == "enum":
        allowed = ", ".join(json.dumps(v) for v in limit)
        return _cause(path, "FieldValueNotSupported",
                      f"Unsupported value: {_render(value)}: supported values: {allowed}")
    if keyword == "maxLength":
        return _cause(path, "FieldValueTooLong", f"Too long: may not be more than {limit} bytes")
    if keyword == "maxItems":
        return _cause(path, "FieldValueTooMany",
                      f"Too many: {len(value)}: must have at most {limit} items")
    shown = len(value) if keyword == "minItems" else (
        value if isinstance(value, (int, float)) else _render(value))
    should = {
        "minLength": f"should be at least {limit} chars long",
        "minItems": f"should have at least {limit} items",
        "pattern": f"should match '{limit}'",
        "format": f"must be of type {limit}: {_render(value)}",
        "maximum": f"should be less than or equal to {limit}",
        "minimum": f"should be greater than or equal to {limit}",
    }.get(keyword, error.message)
    return _cause(path, "FieldValueInvalid", f"Invalid value: {shown}: {path} in body {should}")


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
