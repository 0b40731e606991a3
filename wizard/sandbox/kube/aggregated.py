"""Aggregated discovery (``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``).

kubectl asks ``/api`` and ``/apis`` for aggregated discovery first. Answering it lets a kubectl
with an empty discovery cache learn every resource in two requests instead of one per
group-version (eleven here, each a new TLS connection kubectl opens in parallel), which is most
of a first ``kubectl get``'s time against this server. The documents are built from the same
legacy ``APIResourceList`` entries, so both forms always agree.
"""

from __future__ import annotations

from typing import Any

from .discovery import resource_list
from .resources import ResourceType, group_versions

#: the media type kubectl asks for and recognises in the answer's Content-Type
V2_MEDIA_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """Whether the Accept header asks for v2 aggregated discovery.

    A client that lists it (kubectl puts it first) gets it; one that does not (the python
    client) gets the legacy document.
    """
    for part in accept.split(","):
        params = {p.strip().partition("=")[0]: p.strip().partition("=")[2]
                  for p in part.split(";")[1:]}
        if params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2" and \
                params.get("as") == "APIGroupDiscoveryList":
            return True
    return False


def _version_entry(types: list[ResourceType], group: str, version: str) -> dict[str, Any]:
    """One ``APIVersionDiscovery``: resources with their subresources nested."""
    legacy = resource_list(types, group, version) or {"resources": []}
    resources: dict[str, dict[str, Any]] = {}
    for entry in legacy["resources"]:
        if "/" in entry["name"]:
            continue
        item: dict[str, Any] = {
            "resource": entry["name"],
            # empty group and version mean "this group-version", as real servers send
            "responseKind": {"group": "", "version": "", "kind": entry["kind"]},
            "scope": "Namespaced" if entry["namespaced"] else "Cluster",
            "singularResource": entry.get("singularName", ""),
            "verbs": entry["verbs"],
        }
        for key, field in (("shortNames", "shortNames"), ("categories", "categories")):
            if entry.get(field):
                item[key] = entry[field]
        resources[entry["name"]] = item
    for entry in legacy["resources"]:
        parent, _, sub = entry["name"].partition("/")
        if sub and parent in resources:
            resources[parent].setdefault("subresources", []).append({
                "subresource": sub,
                "responseKind": {"group": entry.get("group", ""),
                                 "version": entry.get("version", ""), "kind": entry["kind"]},
                "verbs": entry["verbs"],
            })
    return {"version": version, "resources": list(resources.values()), "freshness": "Current"}


def discovery_v2(types: list[ResourceType], core: bool) -> dict[str, Any]:
    """``/api`` (``core``) or ``/apis`` as an ``APIGroupDiscoveryList``."""
    items = []
    for group, versions in group_versions(types).items():
        if bool(group) == core:
            continue
        items.append({"metadata": {"name": group, "creationTimestamp": None},
                      "versions": [_version_entry(types, group, v) for v in versions]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": items}
