"""The resource ledger: everything the wizard created, so that cleanup removes exactly that.

An entry is written (and the state saved) the moment a resource exists, before the step goes on,
so that a crash right after a create still leaves the resource on record. Entries are never
removed; cleanup marks them ``deleted_at``.
"""

from __future__ import annotations

import uuid
from typing import Callable

from wizard.events import EventLog
from wizard.protocol import Resource
from wizard.state import now_iso

#: the tag every AWS resource the wizard creates carries, and the label on Kubernetes objects
TAG_KEY = "labwiz:lineage"
LABEL_KEY = "labwiz.dev/lineage"


class Ledger:
    """Records created resources in the state document's ``ledger`` list."""

    def __init__(self, doc: dict, save: Callable[[], None], events: EventLog | None = None):
        self._doc = doc
        self._save = save
        self._events = events

    @property
    def lineage(self) -> str:
        """The lab's lineage, used as the value of the wizard's tag and label."""
        return self._doc["lineage"]

    def tags(self) -> dict[str, str]:
        """The tags to put on AWS resources the wizard creates."""
        return {TAG_KEY: self.lineage, "labwiz:managed": "true"}

    def entries(self, *, kind: str | None = None, live_only: bool = True) -> list[dict]:
        """Ledger entries, optionally of one kind, by default only those not yet deleted."""
        rows = self._doc.setdefault("ledger", [])
        return [r for r in rows if (kind is None or r.get("kind") == kind)
                and not (live_only and r.get("deleted_at"))]

    def find(self, kind: str, name: str) -> dict | None:
        """The live entry for a resource, if the wizard created it."""
        for row in self.entries(kind=kind):
            if row.get("name") == name:
                return row
        return None

    def record(self, resource: Resource) -> dict:
        """Write a created resource to the ledger (idempotent for the same kind and name)."""
        existing = self.find(resource.kind, resource.name)
        if existing:
            existing.update({k: v for k, v in {
                "arn": resource.arn, "region": resource.region, "namespace": resource.namespace,
            }.items() if v})
            existing.setdefault("details", {}).update(resource.details)
            self._save()
            return existing
        row = {
            "id": uuid.uuid4().hex[:12],
            "kind": resource.kind,
            "name": resource.name,
            "step": resource.step,
            "arn": resource.arn,
            "region": resource.region,
            "namespace": resource.namespace,
            "details": dict(resource.details),
            "created_at": now_iso(),
            "deleted_at": None,
        }
        self._doc.setdefault("ledger", []).append(row)
        self._save()
        if self._events:
            self._events.append("resource.created", step=resource.step, kind=resource.kind,
                                name=resource.name, arn=resource.arn)
        return row

    def mark_deleted(self, kind: str, name: str) -> None:
        """Mark a resource as removed by cleanup."""
        row = self.find(kind, name)
        if row:
            row["deleted_at"] = now_iso()
            self._save()
            if self._events:
                self._events.append("resource.deleted", kind=kind, name=name)
