"""SageMaker's request and response shapes, read from botocore's service model.

:func:`validate` checks a request as SageMaker's front end does (required members, patterns,
enums, lengths, ranges) and words the problems as AWS does ("1 validation error detected: Value
'x' at 'roleArn' failed to satisfy constraint: ..."). :func:`project` keeps only the members a
response shape has, so stored records can carry internal fields.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .errors import validation

_MAX_REPORTED = 10


@lru_cache(maxsize=1)
def service_model():
    """botocore's model of the SageMaker API (loaded once)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def operation(name: str):
    """The operation model, or None if SageMaker has no such operation."""
    from botocore.model import OperationNotFoundError

    try:
        return service_model().operation_model(name)
    except OperationNotFoundError:
        return None


@lru_cache(maxsize=512)
def _pattern(text: str):
    """A compiled pattern, or None where Java syntax has no Python equivalent."""
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None


def _camel(name: str) -> str:
    """AWS names members in messages in lower camel case (RoleArn -> roleArn)."""
    return name[:1].lower() + name[1:]


def _shown(value: Any) -> str:
    """A value as AWS quotes it in a message."""
    return "null" if value is None else f"'{value}'"


def _check(shape, value: Any, path: str, errors: list[str]) -> None:
    """Append the constraint violations of ``value`` against ``shape``."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          "Member must be a structure")
            return
        for member in shape.required_members:
            if value.get(member) is None:
                where = f"{path}.{_camel(member)}" if path else _camel(member)
                errors.append(f"Value null at '{where}' failed to satisfy constraint: Member "
                              "must not be null")
        for key, item in value.items():
            if key in shape.members and item is not None:
                where = f"{path}.{_camel(key)}" if path else _camel(key)
                _check(shape.members[key], item, where, errors)
        return
    if kind == "list":
        if not isinstance(value, list):
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          "Member must be a list")
            return
        _length(meta, len(value), value, path, errors)
        for index, item in enumerate(value, 1):
            _check(shape.member, item, f"{path}.{index}.member", errors)
        return
    if kind == "map":
        if not isinstance(value, dict):
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          "Member must be a map")
            return
        _length(meta, len(value), value, path, errors)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", errors)
            _check(shape.value, item, f"{path}.value", errors)
        return
    if kind == "string":
        if not isinstance(value, str):
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          "Member must be a string")
            return
        _length(meta, len(value), value, path, errors)
        if shape.enum and value not in shape.enum:
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          f"Member must satisfy regular expression pattern: {pattern}")
        return
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          "Member must be a number")
            return
        if "min" in meta and value < meta["min"]:
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: "
                          f"Member must have value less than or equal to {meta['max']}")


def _length(meta: dict, size: int, value: Any, path: str, errors: list[str]) -> None:
    """Length bounds of strings, lists and maps."""
    if "min" in meta and size < meta["min"]:
        errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: Member "
                      f"must have length greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        errors.append(f"Value {_shown(value)} at '{path}' failed to satisfy constraint: Member "
                      f"must have length less than or equal to {meta['max']}")


def validate(op_name: str, params: dict) -> None:
    """Raise a ValidationException listing what in ``params`` breaks the operation's shape."""
    op = operation(op_name)
    if op is None or op.input_shape is None:
        return
    errors: list[str] = []
    _check(op.input_shape, params, "", errors)
    if errors:
        count = len(errors)
        shown = "; ".join(errors[:_MAX_REPORTED])
        noun = "error" if count == 1 else "errors"
        raise validation(f"{count} validation {noun} detected: {shown}")


def project(shape, value: Any) -> Any:
    """``value`` reduced to what ``shape`` declares (recursively)."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {key: project(shape.members[key], item) for key, item in value.items()
                if key in shape.members and item is not None}
    if kind == "list" and isinstance(value, list):
        return [project(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: project(shape.value, item) for key, item in value.items()}
    return value


def output(op_name: str, record: dict) -> dict:
    """A stored record as the operation's response."""
    return project(operation(op_name).output_shape, record) or {}


def list_member(op_name: str) -> tuple[str, Any]:
    """(name, item shape) of the list a List* operation answers with."""
    shape = operation(op_name).output_shape
    for name, member in shape.members.items():
        if member.type_name == "list":
            return name, member.member
    raise KeyError(op_name)
