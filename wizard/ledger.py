"""The resource ledger: everything the wizard created, so that cleanup removes exactly that.

Every create goes through :meth:`Ledger.intent`: a row in state ``intent`` (kind, name, tags) is
written and saved *before* the call that creates the resource, and confirmed (state ``created``,
with the identifiers the service gave) right after it. A crash in between leaves the intent on
disk; resume and cleanup reconcile it with what exists (:mod:`wizard.cleanup.reconcile`), so no
resource can exist without a row. What the lab merely *reuses* (the learner's pipeline of the same
name, say) is written as a ``reused`` row, which cleanup shows as kept and never removes.

Rows are never removed; cleanup marks them ``deleted_at``. Rows written by older versions have no
``state`` and count as ``created``.

For the crash tests, ``LABWIZ_CRASH_AT`` names points where the process SIGKILLs itself:
``create:<kind>`` between a create and its confirmation, ``cleanup:<kind>`` after cleanup removed
an item of that kind and before it is marked. A comma-separated list names several points; each
fires once per process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from typing import Callable, Iterator

from wizard.events import EventLog
from wizard.protocol import Resource
from wizard.state import now_iso

#: the tag every AWS resource the wizard creates carries, and the label on Kubernetes objects
TAG_KEY = "labwiz:lineage"
LABEL_KEY = "labwiz.dev/lineage"

INTENT, CREATED, REUSED, ABANDONED = "intent", "created", "reused", "abandoned"
CRASH_ENV = "LABWIZ_CRASH_AT"


def crash_point(name: str) -> None:
    """SIGKILL this process when ``LABWIZ_CRASH_AT`` names ``name`` (tests only; a no-op
    otherwise). The kill is of the process itself, so nothing after it runs: no ``finally``, no
    state save, exactly as a power cut or ``kill -9``."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted or name not in [w.strip() for w in wanted.split(",")]:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _client_refused(exc: BaseException) -> bool:
    """Whether a service answered the create with a 4xx: it refused, so nothing was created.

    Anything else (a timeout, a 5xx, a dropped connection, Ctrl-C) leaves it unknown whether the
    create happened, and the intent stays for reconciliation."""
    status = getattr(exc, "status", None)
    response = getattr(exc, "response", None)
    if status is None and isinstance(response, dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return isinstance(status, int) and 400 <= status < 500


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

    def entries(self, *, kind: str | None = None, live_only: bool = True,
                states: tuple[str, ...] = (INTENT, CREATED)) -> list[dict]:
        """Ledger entries, optionally of one kind, by default only those not yet deleted, and
        only the lab's own (created, or intended and perhaps created): never ``reused`` ones."""
        rows = self._doc.setdefault("ledger", [])
        return [r for r in rows if (kind is None or r.get("kind") == kind)
                and r.get("state", CREATED) in states
                and not (live_only and r.get("deleted_at"))]

    def reused_entries(self) -> list[dict]:
        """What the lab uses but did not create (kept by cleanup)."""
        return self.entries(states=(REUSED,))

    def find(self, kind: str, name: str, *, states: tuple[str, ...] = (INTENT, CREATED)) -> dict | None:
        """The live entry for a resource, if the wizard created (or means to create) it."""
        for row in self.entries(kind=kind, states=states):
            if row.get("name") == name:
                return row
        return None

    def _row(self, resource: Resource, state: str) -> dict:
        return {
            "id": uuid.uuid4().hex[:12],
            "kind": resource.kind,
            "name": resource.name,
            "state": state,
            "step": resource.step,
            "arn": resource.arn,
            "region": resource.region,
            "namespace": resource.namespace,
            "details": dict(resource.details),
            "created_at": now_iso(),
            "deleted_at": None,
        }

    def record(self, resource: Resource) -> dict:
        """Write a created resource to the ledger (idempotent for the same kind and name).

        Prefer :meth:`intent` around the create: a row written only after the create leaves a
        window where a crash hides the resource."""
        existing = self.find(resource.kind, resource.name)
        if existing:
            existing.update({k: v for k, v in {
                "arn": resource.arn, "region": resource.region, "namespace": resource.namespace,
            }.items() if v})
            existing.setdefault("details", {}).update(resource.details)
            existing["state"] = CREATED
            self._save()
            return existing
        row = self._row(resource, CREATED)
        self._doc.setdefault("ledger", []).append(row)
        self._save()
        if self._events:
            self._events.append("resource.created", step=resource.step, kind=resource.kind,
                                name=resource.name, arn=resource.arn)
        return row

    @contextlib.contextmanager
    def intent(self, resource: Resource) -> Iterator[Resource]:
        """Record ``resource`` as intended, run the body (the create), then confirm it.

        The body may fill in what the service assigned (``arn``, ``details``, and even ``name``
        for things named by the server, e.g. a KFP run's id or an access key's id); the row is
        updated when the body returns. If the body raises a 4xx (the service refused) the intent
        is abandoned; any other exception leaves it for reconciliation.
        """
        row = self.find(resource.kind, resource.name)
        if row is None:
            row = self._row(resource, INTENT)
            self._doc.setdefault("ledger", []).append(row)
            self._save()
            if self._events:
                self._events.append("resource.intent", step=resource.step, kind=resource.kind,
                                    name=resource.name)
        try:
            yield resource
        except BaseException as exc:
            if row.get("state") == INTENT and _client_refused(exc):
                row.update(state=ABANDONED, deleted_at=now_iso())
                self._save()
            raise
        crash_point(f"create:{resource.kind}")
        self.confirm(row, resource)

    def confirm(self, row: dict, resource: Resource | None = None) -> dict:
        """Mark an intent row created, with what ``resource`` now knows (name, arn, details)."""
        was = row.get("state")
        if resource is not None:
            row["name"] = resource.name
            row.update({k: v for k, v in {"arn": resource.arn, "region": resource.region,
                                          "namespace": resource.namespace}.items() if v})
            row.setdefault("details", {}).update(resource.details)
        row["state"] = CREATED
        self._save()
        if self._events and was != CREATED:
            self._events.append("resource.created", step=row.get("step"), kind=row["kind"],
                                name=row["name"], arn=row.get("arn"))
        return row

    def abandon(self, row: dict, why: str) -> None:
        """Close an intent whose resource was never created (reconciliation found nothing)."""
        row.update(state=ABANDONED, deleted_at=now_iso())
        row.setdefault("details", {})["abandoned"] = why
        self._save()
        if self._events:
            self._events.append("resource.abandoned", kind=row["kind"], name=row["name"], why=why)

    def reused(self, resource: Resource) -> dict | None:
        """Note that the lab uses ``resource`` but did not create it: cleanup keeps it.

        A no-op when the lab itself created it (a row in state intent or created exists)."""
        if self.find(resource.kind, resource.name):
            return None
        existing = self.find(resource.kind, resource.name, states=(REUSED,))
        if existing:
            existing.setdefault("details", {}).update(resource.details)
            self._save()
            return existing
        row = self._row(resource, REUSED)
        self._doc.setdefault("ledger", []).append(row)
        self._save()
        if self._events:
            self._events.append("resource.reused", step=resource.step, kind=resource.kind,
                                name=resource.name)
        return row

    def remember_plan(self, items: list[dict]) -> list[dict]:
        """Keep cleanup's plan in the state before anything is removed, and return every item
        planned so far: what cleanup found only through a resource it then deleted (a job's
        output prefix, read from its custom resource) must still be known when a cleanup killed
        half-way is resumed."""
        saved = self._doc.setdefault("cleanup", {}).setdefault("planned", [])
        known = {(i.get("kind"), i.get("namespace") or "", i.get("name")) for i in saved}
        added = False
        for item in items:
            key = (item.get("kind"), item.get("namespace") or "", item.get("name"))
            if key not in known:
                saved.append(item)
                known.add(key)
                added = True
        if added:
            self._save()
        return list(saved)

    def mark_deleted(self, kind: str, name: str) -> None:
        """Mark a resource as removed by cleanup."""
        row = self.find(kind, name)
        if row:
            row["deleted_at"] = now_iso()
            self._save()
            if self._events:
                self._events.append("resource.deleted", kind=kind, name=name)
