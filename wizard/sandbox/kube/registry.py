"""The live set of served resource types: the built-ins plus every established CRD's versions.

Rebuilt from the store whenever a CRD changes, so discovery, routing and validation follow CRDs
as they are created, updated and deleted.
"""

from __future__ import annotations

import threading
from typing import Any

from .resources import BUILTIN, ResourceType, crd_version_schema, types_from_crd

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


class Registry:
    """Resource types by (group, version, plural), with the CRD behind each custom one."""

    def __init__(self, store):
        """Set up the instance (see the class docstring)."""
        self.store = store
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._crds: dict[str, dict[str, Any]] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read CRDs from the store and rebuild the type table."""
        types = {(t.group, t.version, t.plural): t for t in BUILTIN}
        crds = {}
        for crd in self.store.list(CRD_KEY):
            if crd["metadata"].get("deletionTimestamp"):
                continue
            crds[crd["metadata"]["name"]] = crd
            for t in types_from_crd(crd):
                types.setdefault((t.group, t.version, t.plural), t)
        with self._lock:
            self._types, self._crds = types, crds

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The served type at ``/apis/group/version/plural`` (or ``/api/v1/plural``)."""
        with self._lock:
            return self._types.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        """Every served type."""
        with self._lock:
            return list(self._types.values())

    def has_group_version(self, group: str, version: str) -> bool:
        """Whether any type is served at group/version."""
        return any(t.group == group and t.version == version for t in self.all())

    def schema(self, t: ResourceType) -> dict[str, Any] | None:
        """The openAPIV3Schema of a custom type's version (None for built-ins)."""
        if not t.crd:
            return None
        with self._lock:
            crd = self._crds.get(t.crd)
        return crd_version_schema(crd, t.version) if crd else None

    def storage_version(self, t: ResourceType) -> str:
        """The version a custom type's objects are stored as."""
        with self._lock:
            crd = self._crds.get(t.crd or "")
        for ver in ((crd or {}).get("spec") or {}).get("versions") or []:
            if ver.get("storage"):
                return ver["name"]
        return t.version

    def types_for_crd(self, crd_name: str) -> list[ResourceType]:
        """The types a CRD serves (empty once it is gone)."""
        return [t for t in self.all() if t.crd == crd_name]
