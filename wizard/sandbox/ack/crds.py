"""Derive ACK SageMaker CustomResourceDefinitions from botocore's SageMaker model at run time.

This follows the rules of ACK's code generator:

* **spec** is the ``Create<Kind>`` input shape, every member renamed by ACK's naming rule
  (:mod:`wizard.sandbox.ack.names`). ``Tags`` stays in spec as a list of ``{key, value}``
  objects, which is how ACK SageMaker resources carry tags. The top-level ``required`` list is
  the input shape's required members; nested objects carry no ``required`` by default, as in
  ACK's CRDs (pass ``nested_required=True`` for the stricter variant).
* **status** holds whatever the API returns that the user did not write: the ``Create<Kind>``
  output members and the ``Describe<Kind>`` output members, minus those already in spec. The
  resource's own ARN (``<Kind>Arn``) moves to ``status.ackResourceMetadata.arn``, beside
  ``ownerAccountID`` and ``region``; ``status.conditions`` holds ACK's conditions.
* Types map as ACK maps them: structures to objects, lists to arrays, maps to objects with
  ``additionalProperties``, integers and longs to ``integer``/``int64``, floats and doubles to
  ``number`` (with ``float``/``double`` formats), timestamps to ``date-time`` strings, blobs to
  ``byte`` strings. A shape that contains itself is cut at the repeat with
  ``x-kubernetes-preserve-unknown-fields`` so that the schema stays finite and structural.
"""

from __future__ import annotations

import html
import re
from typing import Any

from wizard.sandbox.ack.model import operation
from wizard.sandbox.ack.names import ack_field_name, kind_plural
from wizard.sandbox.ack.resources import API_VERSION, GROUP, KINDS, LAB_KINDS, VERSION

_INT_TYPES = {"integer": "int64", "long": "int64"}
_FLOAT_TYPES = {"float": "float", "double": "double"}


def _first_sentence(doc: str, limit: int = 300) -> str:
    """The first sentence of a botocore documentation string, tags removed, for descriptions."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", doc or ""))
    text = " ".join(text.split())
    match = re.search(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."


def shape_schema(shape: Any, *, nested_required: bool = False, _stack: tuple = ()) -> dict:
    """The OpenAPI v3 (structural) schema for a botocore shape, field names in ACK's style."""
    type_name = shape.type_name
    if type_name == "structure":
        if getattr(shape, "is_document_type", False) or shape.name in _stack:
            # documents are free-form; a repeated shape would recurse forever
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        stack = _stack + (shape.name,)
        props = {
            ack_field_name(member): shape_schema(
                member_shape, nested_required=nested_required, _stack=stack
            )
            for member, member_shape in shape.members.items()
        }
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if nested_required and shape.required_members:
            schema["required"] = sorted(ack_field_name(m) for m in shape.required_members)
        return schema
    if type_name == "list":
        return {
            "type": "array",
            "items": shape_schema(shape.member, nested_required=nested_required, _stack=_stack),
        }
    if type_name == "map":
        return {
            "type": "object",
            "additionalProperties": shape_schema(
                shape.value, nested_required=nested_required, _stack=_stack
            ),
        }
    if type_name in _INT_TYPES:
        return {"type": "integer", "format": _INT_TYPES[type_name]}
    if type_name in _FLOAT_TYPES:
        return {"type": "number", "format": _FLOAT_TYPES[type_name]}
    if type_name == "boolean":
        return {"type": "boolean"}
    if type_name == "timestamp":
        return {"type": "string", "format": "date-time"}
    if type_name == "blob":
        return {"type": "string", "format": "byte"}
    return {"type": "string"}


def _with_doc(schema: dict, shape: Any) -> dict:
    """``schema`` with a one-sentence description taken from the shape's documentation."""
    doc = _first_sentence(getattr(shape, "documentation", "") or "")
    return {"description": doc, **schema} if doc else schema


def spec_members(kind: str) -> dict[str, Any]:
    """The Create input members that become spec fields, keyed by botocore member name."""
    return dict(operation(f"Create{kind}").input_shape.members)


def status_members(kind: str) -> dict[str, Any]:
    """The output members that become status fields, keyed by botocore member name.

    Create output first, then Describe output; members whose ACK name is already a spec field
    are dropped, as is the resource's own ARN (it lives in ``ackResourceMetadata.arn``).
    """
    spec_names = {ack_field_name(m) for m in spec_members(kind)}
    own_arn = f"{kind}Arn"
    out: dict[str, Any] = {}
    for op in (f"Create{kind}", f"Describe{kind}"):
        output = operation(op).output_shape
        if output is None:
            continue
        for member, shape in output.members.items():
            if member == own_arn or ack_field_name(member) in spec_names or member in out:
                continue
            out[member] = shape
    return out


def _ack_metadata_schema() -> dict:
    """``status.ackResourceMetadata`` as every ACK resource carries it."""
    return {
        "description": "Where the AWS resource lives: its ARN, owning account and region.",
        "type": "object",
        "properties": {
            "arn": {"type": "string"},
            "ownerAccountID": {"type": "string"},
            "partition": {"type": "string"},
            "region": {"type": "string"},
        },
        "required": ["ownerAccountID", "region"],
    }


def _conditions_schema() -> dict:
    """``status.conditions``: ACK's ResourceSynced, Terminal, Recoverable... conditions."""
    return {
        "description": "ACK conditions: ACK.ResourceSynced, ACK.Terminal, ACK.Recoverable...",
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "lastTransitionTime": {"type": "string", "format": "date-time"},
                "message": {"type": "string"},
                "reason": {"type": "string"},
                "status": {"type": "string"},
                "type": {"type": "string"},
            },
            "required": ["status", "type"],
        },
    }


def _printer_columns(kind: str, status_props: dict) -> list[dict]:
    """``kubectl get`` columns: the lab kinds' as ACK shows them, else status/failure if any."""
    if kind in KINDS and KINDS[kind].printer_columns:
        columns = KINDS[kind].printer_columns
    else:
        status_field = ack_field_name(f"{kind}Status")
        columns = tuple(
            col
            for col, present in (
                (("FAILURE-REASON", ".status.failureReason", 1), "failureReason" in status_props),
                (("STATUS", f".status.{status_field}", 0), status_field in status_props),
            )
            if present
        )
    out = []
    for name, path, priority in columns:
        column = {"name": name, "jsonPath": path, "type": "string"}
        if priority:
            column["priority"] = priority
        out.append(column)
    return out


def derive_crd(kind: str, *, nested_required: bool = False) -> dict:
    """One CustomResourceDefinition (apiextensions.k8s.io/v1) for ``kind``, as a dict."""
    create_input = operation(f"Create{kind}").input_shape
    spec_props = {
        ack_field_name(member): _with_doc(
            shape_schema(shape, nested_required=nested_required), shape
        )
        for member, shape in spec_members(kind).items()
    }
    spec_schema: dict[str, Any] = {
        "description": f"The desired state of the {kind}: the Create{kind} request.",
        "type": "object",
        "properties": spec_props,
    }
    if create_input.required_members:
        spec_schema["required"] = sorted(ack_field_name(m) for m in create_input.required_members)
    status_props: dict[str, Any] = {
        "ackResourceMetadata": _ack_metadata_schema(),
        "conditions": _conditions_schema(),
    }
    for member, shape in status_members(kind).items():
        status_props[ack_field_name(member)] = _with_doc(
            shape_schema(shape, nested_required=nested_required), shape
        )
    plural = kind_plural(kind)
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
        "schema": {
            "openAPIV3Schema": {
                "description": f"{kind} is the Schema for the {plural} API",
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "spec": spec_schema,
                    "status": {
                        "description": f"The observed state of the {kind}.",
                        "type": "object",
                        "properties": status_props,
                    },
                }
            }
        },
    }
    columns = _printer_columns(kind, status_props)
    if columns:
        version["additionalPrinterColumns"] = columns
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "annotations": {"labwiz.sandbox/derived-from": "botocore sagemaker service model"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
            },
            "scope": "Namespaced",
            "versions": [version],
        },
    }


def derive_crds(kinds: list[str] | tuple[str, ...] | None = None, *,
                nested_required: bool = False) -> list[dict]:
    """CRDs for ``kinds`` (default: the lab's seven kinds), derived from botocore's model.

    Any kind with ``Create<Kind>`` and ``Describe<Kind>`` operations can be derived; an unknown
    kind raises ValueError naming the operation that is missing.
    """
    return [derive_crd(kind, nested_required=nested_required) for kind in (kinds or LAB_KINDS)]


__all__ = ["API_VERSION", "derive_crd", "derive_crds", "shape_schema", "spec_members",
           "status_members"]
