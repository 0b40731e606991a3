"""Fault injection for the offline sandbox.

Instructors use faults to teach troubleshooting, the doctor's tests use them to stage known
failures, and the reliability tests use them to prove the wizard retries. Faults are written as
``KIND=VALUE`` and kept in ``<sandbox data dir>/faults.json`` so that they can be set when the
sandbox starts (``labwiz sandbox up --fail ...``) or while it runs (``labwiz sandbox fail ...``).

Two families:

* *Scenario* faults reproduce one of the lab's known failures with AWS's real error codes:
  ``training=ResourceLimitExceeded``, ``endpoint=ResourceLimitExceeded``,
  ``endpoint=FailedToReachInService``, ``role=AccessDenied`` (SageMaker cannot assume the
  execution role), ``sagemaker=AccessDenied`` (the caller may not create, change or delete
  SageMaker resources: the ACK controller's role without SageMaker permissions),
  ``s3=AccessDenied``, ``invoke=AccessDenied``, ``run=Pending`` (new pipeline runs are accepted
  but never start, as when their pods cannot be scheduled; they start once the fault is cleared),
  ``credentials=ExpiredToken`` (the caller's session token has expired: every AWS call but the
  sandbox's own is refused with ``ExpiredToken``, as after an SSO or assumed-role session ends).
* *Transient* faults fail a share of calls, spread evenly so that a bounded retry always gets
  through: ``throttle=0.2`` (AWS throttling), ``aws-5xx=0.1``, ``kube-5xx=0.1``, ``kfp-5xx=0.1``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

FAULTS_FILE = "faults.json"

#: scenario kinds and the values each accepts
SCENARIOS: dict[str, tuple[str, ...]] = {
    "training": ("ResourceLimitExceeded",),
    "endpoint": ("ResourceLimitExceeded", "FailedToReachInService"),
    "role": ("AccessDenied",),
    "sagemaker": ("AccessDenied",),
    "s3": ("AccessDenied",),
    "invoke": ("AccessDenied",),
    "run": ("Pending",),
    "credentials": ("ExpiredToken",),
}

#: transient kinds take a share of calls in (0, 0.5]; above a half two failures could follow
#: each other, and the point of a transient fault is that a retry succeeds.
TRANSIENT = ("throttle", "aws-5xx", "kube-5xx", "kfp-5xx")
MAX_SHARE = 0.5


class FaultSpecError(ValueError):
    """A ``KIND=VALUE`` that names no known fault; the message lists the valid ones."""


@dataclass(frozen=True)
class Fault:
    """One parsed fault: its kind and value (a scenario's error name, or a share as text)."""

    kind: str
    value: str

    @property
    def share(self) -> float:
        """The share of calls a transient fault fails."""
        return float(self.value)

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


def help_text() -> str:
    """Every accepted fault, one per line, for error messages and ``--help``."""
    lines = [f"  {kind}={'|'.join(values)}" for kind, values in SCENARIOS.items()]
    lines += [f"  {kind}=SHARE   (0 < SHARE <= {MAX_SHARE})" for kind in TRANSIENT]
    return "\n".join(lines)


def parse(spec: str) -> Fault:
    """Parse ``KIND=VALUE``; raise :class:`FaultSpecError` with the valid choices otherwise."""
    kind, sep, value = spec.partition("=")
    kind, value = kind.strip(), value.strip()
    if not sep or not kind or not value:
        raise FaultSpecError(f"'{spec}' is not KIND=VALUE. Valid faults:\n{help_text()}")
    if kind in SCENARIOS:
        for allowed in SCENARIOS[kind]:
            if value.lower() == allowed.lower():
                return Fault(kind, allowed)
        raise FaultSpecError(
            f"'{value}' is not a fault for {kind}; use one of: {', '.join(SCENARIOS[kind])}."
        )
    if kind in TRANSIENT:
        try:
            share = float(value)
        except ValueError:
            raise FaultSpecError(f"{kind} takes a share of calls such as 0.2, not '{value}'.") from None
        if not 0 < share <= MAX_SHARE:
            raise FaultSpecError(
                f"{kind}={value}: the share must be above 0 and at most {MAX_SHARE}, so that a "
                "retry can get through."
            )
        return Fault(kind, repr(share))
    raise FaultSpecError(f"unknown fault kind '{kind}'. Valid faults:\n{help_text()}")


def write(data_dir: Path, faults: list[Fault]) -> None:
    """Replace the sandbox's faults atomically (readers never see half a file)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / FAULTS_FILE
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps([{"kind": f.kind, "value": f.value} for f in faults]))
    os.replace(tmp, target)


def read(data_dir: Path) -> list[Fault]:
    """The faults in force; a missing or unreadable file means none."""
    try:
        raw = json.loads((data_dir / FAULTS_FILE).read_text())
        return [Fault(item["kind"], item["value"]) for item in raw]
    except (OSError, ValueError, KeyError, TypeError):
        return []


class Faults:
    """What a running service asks: is this call to fail, and how?

    Re-reads ``faults.json`` when its mtime changes, so faults set while the sandbox runs take
    effect at once. Transient faults fail calls on an even spread (call *n* fails when
    ``floor(n * share)`` steps up), which keeps failures from following each other.
    """

    def __init__(self, data_dir: Path):
        self._path = Path(data_dir) / FAULTS_FILE
        self._mtime: float | None = None
        self._faults: list[Fault] = []
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        try:
            mtime = self._path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._mtime:
            self._mtime = mtime
            self._faults = read(self._path.parent) if mtime is not None else []
            self._counters.clear()

    def active(self) -> list[Fault]:
        """Every fault in force now."""
        with self._lock:
            self._refresh()
            return list(self._faults)

    def scenario(self, kind: str) -> str | None:
        """The error a scenario fault of ``kind`` asks for, or None."""
        for fault in self.active():
            if fault.kind == kind:
                return fault.value
        return None

    def transient(self, kind: str) -> bool:
        """Whether this call, counted under ``kind``, is one of the share that fails."""
        with self._lock:
            self._refresh()
            share = next((f.share for f in self._faults if f.kind == kind), 0.0)
            if share <= 0:
                return False
            n = self._counters.get(kind, 0) + 1
            self._counters[kind] = n
            return int(n * share) > int((n - 1) * share)
