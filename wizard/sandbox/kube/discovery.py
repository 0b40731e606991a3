"""Discovery and OpenAPI documents: what kubectl and the python client read to find resources.

Legacy discovery (``/api``, ``/api/v1``, ``/apis``, ``/apis/<g>``, ``/apis/<g>/<v>``) is served
in full; kubectl asks for aggregated discovery first and falls back to it. ``/openapi/v3`` lists
one small document per group-version whose PATCH operations declare the ``fieldValidation``
parameter, which tells kubectl to let the server validate (``fieldValidation=Strict``) instead
of downloading schemas for client-side validation.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import ResourceType, discovery_resource, group_versions

VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0-eks-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.4", "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(host: str) -> dict[str, Any]:
    """``/api``."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def _group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    """One APIGroup entry."""
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_groups(types: list[ResourceType]) -> dict[str, Any]:
    """``/apis``: every non-core group with its versions."""
    groups = [_group_doc(g, vs) for g, vs in group_versions(types).items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(types: list[ResourceType], group: str) -> dict[str, Any] | None:
    """``/apis/<group>`` or None when no such group is served."""
    versions = group_versions(types).get(group)
    if not versions or not group:
        return None
    return dict(_group_doc(group, versions), kind="APIGroup", apiVersion="v1")


def resource_list(types: list[ResourceType], group: str, version: str) -> dict[str, Any] | None:
    """``/apis/<group>/<version>`` (or ``/api/v1``), or None when not served."""
    chosen = [t for t in types if t.group == group and t.version == version]
    if not chosen:
        return None
    resources = [r for t in sorted(chosen, key=lambda t: t.plural) for r in discovery_resource(t)]
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


def _path_item(t: ResourceType) -> tuple[str, dict[str, Any]]:
    """The item path of a type and its operations, as OpenAPI v3 declares them."""
    prefix = f"/apis/{t.group}/{t.version}" if t.group else "/api/v1"
    ns = "/namespaces/{namespace}" if t.namespaced else ""
    gvk = {"group": t.group, "version": t.version, "kind": t.kind}
    params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string",
                                                                    "uniqueItems": True}},
              {"name": "dryRun", "in": "query", "schema": {"type": "string",
                                                           "uniqueItems": True}}]
    op = {"x-kubernetes-group-version-kind": gvk, "parameters": params,
          "responses": {"200": {"description": "OK"}}}
    if "patch" not in t.verbs:
        return f"{prefix}{ns}/{t.plural}/{{name}}", {}
    return f"{prefix}{ns}/{t.plural}/{{name}}", {
        "patch": dict(op, operationId=f"patch{t.kind}", **{"x-kubernetes-action": "patch"}),
        "put": dict(op, operationId=f"replace{t.kind}", **{"x-kubernetes-action": "put"}),
    }


def openapi_gv(types: list[ResourceType], group: str, version: str,
               schema_of=None) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group-version, or None when not served.

    Custom resources carry their CRD's schema (tagged with its group-version-kind), which is
    what ``kubectl explain`` reads; built-in kinds carry none.
    """
    chosen = [t for t in types if t.group == group and t.version == version]
    if not chosen:
        return None
    paths = dict(_path_item(t) for t in chosen)
    schemas: dict[str, Any] = {}
    for t in chosen:
        schema = schema_of(t) if (schema_of and t.crd) else None
        if schema:
            rev = ".".join(reversed(t.group.split(".")))
            schemas[f"{rev}.{t.version}.{t.kind}"] = dict(
                schema, **{"x-kubernetes-group-version-kind": [
                    {"group": t.group, "version": t.version, "kind": t.kind}]})
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
            "paths": {p: v for p, v in paths.items() if v}, "components": {"schemas": schemas}}


def openapi_root(types: list[ResourceType], schema_of=None) -> dict[str, Any]:
    """``/openapi/v3``: where each group-version's document is, with a content hash."""
    paths = {}
    for group, versions in group_versions(types).items():
        for version in versions:
            key = f"apis/{group}/{version}" if group else "api/v1"
            doc = json.dumps(openapi_gv(types, group, version, schema_of),
                             sort_keys=True).encode()
            digest = hashlib.sha512(doc).hexdigest()[:64].upper()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


#: the media type /openapi/v2 answers in protobuf (kubectl asks for "...spec.v2@v1.0+protobuf",
#: but Go's media-type parser refuses an "@" in the answer, so the server spells it with a dot)
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def openapi_v2() -> dict[str, Any]:
    """``/openapi/v2`` as JSON: a Swagger 2.0 document without definitions. Schemas are served
    per group-version by ``/openapi/v3``; this one exists so that kubectl's fallback finds a
    document and goes on to its own "no matches for kind" message for unknown kinds."""
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
            "paths": {}, "definitions": {}}


def openapi_v2_protobuf() -> bytes:
    """The same document in the protobuf form kubectl asks for (gnostic's ``Document``: field 1
    ``swagger``, field 2 ``info`` with ``title`` 1 and ``version`` 2, field 8 ``paths``)."""

    def field(number: int, payload: bytes) -> bytes:
        # wire type 2 (length-delimited); every length here is below 128, so one byte
        assert len(payload) < 128
        return bytes([number << 3 | 2, len(payload)]) + payload

    info = field(1, b"Kubernetes") + field(2, VERSION["gitVersion"].encode())
    return field(1, b"2.0") + field(2, info) + field(8, b"")
