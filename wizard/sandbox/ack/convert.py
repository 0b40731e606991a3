"""Convert between a custom resource's spec/status and SageMaker API requests/responses.

Both directions walk botocore's shapes recursively, so every field maps to exactly the botocore
member it was derived from (``roleARN`` back to ``RoleArn``, ``s3URI`` back to ``S3Uri``), at
any depth. Map keys (hyperparameters, environment variables) are data and are never renamed.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from typing import Any

from wizard.sandbox.ack.model import operation
from wizard.sandbox.ack.names import ack_field_name


class SpecError(ValueError):
    """A spec value does not fit the API's shape; the message names the field and the fix."""


def _type_name(value: Any) -> str:
    """A JSON-ish name for a Python value's type, for error messages."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), "a value")


def to_api(shape: Any, value: Any, path: str) -> Any:
    """One spec value converted to what botocore expects for ``shape``; SpecError if it cannot."""
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        if not isinstance(value, dict):
            raise SpecError(f"{path}: expected an object, got {_type_name(value)}")
        by_field = {ack_field_name(member): member for member in shape.members}
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            member = by_field.get(key)
            if member is None:
                known = ", ".join(sorted(by_field))
                raise SpecError(f"{path}.{key}: unknown field; the fields here are: {known}")
            out[member] = to_api(shape.members[member], item, f"{path}.{key}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise SpecError(f"{path}: expected a list, got {_type_name(value)}")
        return [to_api(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise SpecError(f"{path}: expected an object (a map), got {_type_name(value)}")
        return {key: to_api(shape.value, item, f"{path}.{key}") for key, item in value.items()}
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise SpecError(f"{path}: expected an integer, got {_type_name(value)} {value!r}")
        return int(value)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"{path}: expected a number, got {_type_name(value)} {value!r}")
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SpecError(f"{path}: expected true or false, got {_type_name(value)} {value!r}")
        return value
    if kind == "timestamp":
        if not isinstance(value, str):
            raise SpecError(f"{path}: expected an RFC 3339 time string, got {_type_name(value)}")
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise SpecError(f"{path}: expected base64 text, got {_type_name(value)}")
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise SpecError(f"{path}: not valid base64 text") from None
    if not isinstance(value, str):
        raise SpecError(
            f"{path}: expected a string, got {_type_name(value)} {value!r}; quote it in YAML"
        )
    return value


def from_api(shape: Any, value: Any) -> Any:
    """One API response value converted to the custom resource's JSON form (ACK's names)."""
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure" and not getattr(shape, "is_document_type", False):
        out = {}
        for member, item in value.items():
            if member in shape.members and item is not None:
                out[ack_field_name(member)] = from_api(shape.members[member], item)
        return out
    if kind == "list":
        return [from_api(shape.member, item) for item in value]
    if kind == "map":
        return {key: from_api(shape.value, item) for key, item in value.items()}
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def spec_to_request(kind: str, spec: dict) -> dict:
    """The ``Create<Kind>`` request for a custom resource's spec, with botocore member names."""
    shape = operation(f"Create{kind}").input_shape
    return to_api(shape, spec or {}, "spec")


@functools.lru_cache(maxsize=None)
def _status_member_names(kind: str) -> frozenset[str]:
    """The botocore members of ``kind`` that are status fields of its CRD."""
    from wizard.sandbox.ack.crds import status_members

    return frozenset(status_members(kind))


def response_to_status(kind: str, response: dict, spec_fields: set[str]) -> dict:
    """Status fields from a ``Describe<Kind>`` response: the members the CRD has in status.

    A member that is a spec field is left out whether or not this resource's spec sets it (an
    unset ``enableNetworkIsolation`` came back as ``false`` from Describe; written to status,
    the API server pruned it, and the next pass wrote it again, for ever). So are the
    resource's own ARN (it belongs in ``ackResourceMetadata``), botocore's
    ``ResponseMetadata`` and any member the model does not know. ``spec_fields``, the fields
    this resource's spec sets, are left out too (a CRD from another source may differ).
    """
    shape = operation(f"Describe{kind}").output_shape
    allowed = _status_member_names(kind)
    out = {}
    for member, value in response.items():
        if member not in shape.members or member not in allowed or value is None:
            continue
        name = ack_field_name(member)
        if name in spec_fields:
            continue
        out[name] = from_api(shape.members[member], value)
    return out
