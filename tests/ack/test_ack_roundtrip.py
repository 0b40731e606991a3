"""Every field of every derivable kind maps back to its exact botocore member.

For each kind, a spec is generated from the Create input shape with a value in *every* member at
every depth (under ACK's names), alongside the request botocore expects (under botocore's
names). Converting the first must give the second, and the first must satisfy the derived CRD.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from wizard.sandbox.ack.convert import spec_to_request
from wizard.sandbox.ack.crds import derive_crd
from wizard.sandbox.ack.model import derivable_kinds, operation
from wizard.sandbox.ack.names import ack_field_name


def _pair(shape: Any, stack: tuple = ()) -> tuple[Any, Any]:
    """(value under ACK names, the same value under botocore names) for ``shape``."""
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False) or shape.name in stack:
            return None, None
        ack, api = {}, {}
        for member, sub in shape.members.items():
            a, b = _pair(sub, stack + (shape.name,))
            if a is not None:
                ack[ack_field_name(member)], api[member] = a, b
        return ack, api
    if kind == "list":
        a, b = _pair(shape.member, stack)
        return ([a], [b]) if a is not None else ([], [])
    if kind == "map":
        a, b = _pair(shape.value, stack)
        return ({"Key_1": a}, {"Key_1": b}) if a is not None else ({}, {})
    if kind in ("integer", "long"):
        return 7, 7
    if kind in ("float", "double"):
        return 0.5, 0.5
    if kind == "boolean":
        return True, True
    if kind == "timestamp":
        return "2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"
    if kind == "blob":
        return "aGk=", b"hi"
    return "text", "text"


def _count_leaves(value: Any) -> int:
    """How many scalar values a nested value holds."""
    if isinstance(value, dict):
        return sum(_count_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_leaves(v) for v in value)
    return 1


def _closed(schema: dict) -> dict:
    """``schema`` rejecting unknown fields (so a misnamed field fails)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if "properties" in node:
            node.setdefault("additionalProperties", False)
            stack.extend(node["properties"].values())
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append(node[key])
    return schema


KINDS = ["TrainingJob", "ProcessingJob", "HyperParameterTuningJob", "Model", "EndpointConfig",
         "Endpoint", "TransformJob", "NotebookInstance", "Domain", "FeatureGroup",
         "MonitoringSchedule", "LabelingJob", "ModelPackage", "UserProfile"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_member_round_trips(kind: str) -> None:
    """The full spec converts to exactly the full request, and fits the derived schema."""
    import jsonschema

    assert kind in derivable_kinds()
    ack, api = _pair(operation(f"Create{kind}").input_shape)
    assert _count_leaves(api) > 2
    assert spec_to_request(kind, ack) == api
    crd = derive_crd(kind)
    spec_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    jsonschema.validate(ack, _closed(spec_schema))
