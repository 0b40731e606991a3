"""The lab's state document and how it is kept on disk.

Like terraform's state it carries a ``schema_version``, a ``lineage`` (a UUID fixed when the lab's
state is first made) and a ``serial`` that grows on every write; the previous version is kept as a
backup. Unlike terraform, every write is atomic: a temporary file is written and fsynced, renamed
over the old one, and the directory is fsynced, so a crash at any instant leaves either the old or
the new document, never half of one.

Secrets never reach this file: :func:`_encode` refuses a :class:`~wizard.secrets.Secret`.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard import __version__
from wizard.errors import StateError
from wizard.paths import BACKUP_FILE, STATE_FILE, ensure_private_dir, open_private
from wizard.secrets import Secret

SCHEMA_VERSION = 1

STEP_STATUSES = ("pending", "running", "done", "failed", "skipped")


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds, e.g. ``2026-11-23T09:30:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encode(obj: Any):
    if isinstance(obj, Secret):
        raise TypeError("refusing to write a secret into the state file")
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in the state file")


def new_document() -> dict:
    """An empty state document for a new lab."""
    stamp = now_iso()
    return {
        "schema_version": SCHEMA_VERSION,
        "lineage": str(uuid.uuid4()),
        "serial": 0,
        "labwiz_version": __version__,
        "created_at": stamp,
        "updated_at": stamp,
        "target": {},
        "inputs": {},
        "steps": {},
        "ledger": [],
    }


def _check_shape(doc: Any, path: Path) -> None:
    """Refuse a document whose fields have the wrong types (a hand edit gone wrong)."""
    expected = {
        "schema_version": int,
        "lineage": str,
        "serial": int,
        "inputs": dict,
        "steps": dict,
        "ledger": list,
    }
    if not isinstance(doc, dict):
        raise StateError(
            f"{path} does not hold a state document (found {type(doc).__name__}).",
            remediation=f"Restore the backup ({path.with_name(BACKUP_FILE)}) or move the file away "
            "to start a new lab.",
        )
    for key, kind in expected.items():
        if not isinstance(doc.get(key), kind):
            raise StateError(
                f"{path}: field '{key}' is missing or not a {kind.__name__}; the file was probably "
                "edited by hand.",
                remediation=f"Fix the field, or restore the backup ({path.with_name(BACKUP_FILE)}).",
            )
    for key, kind in (("target", dict), ("input_sources", dict), ("cleanup", dict)):
        if key in doc and not isinstance(doc[key], kind):
            _wrong(path, f"field '{key}'", kind, doc[key])
    for step_id, record in doc["steps"].items():
        status = record.get("status") if isinstance(record, dict) else None
        if status not in STEP_STATUSES:
            raise StateError(
                f"{path}: step '{step_id}' has status {_show(status)}; expected one of "
                f"{', '.join(STEP_STATUSES)}.",
                remediation=f"Fix the status, run 'labwiz reset --to {step_id}', or restore the "
                f"backup ({path.with_name(BACKUP_FILE)}).",
            )
        for key, kind in (("attempts", int), ("outputs", dict), ("error", dict),
                          ("duration_s", (int, float))):
            value = record.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                _wrong(path, f"step '{step_id}', field '{key}'", kind, value)
    for n, row in enumerate(doc["ledger"]):
        where = f"ledger row {n + 1}"
        if not isinstance(row, dict):
            _wrong(path, where, dict, row)
        for key, kind in (("kind", str), ("name", str)):
            if not isinstance(row.get(key), kind):
                _wrong(path, f"{where}, field '{key}'", kind, row.get(key))
        for key, kind in (("details", dict), ("state", str), ("arn", str), ("namespace", str),
                          ("deleted_at", str), ("created_at", str)):
            if row.get(key) is not None and not isinstance(row[key], kind):
                _wrong(path, f"{where}, field '{key}'", kind, row[key])
    planned = (doc.get("cleanup") or {}).get("planned", [])
    if not isinstance(planned, list) or not all(isinstance(i, dict) and isinstance(
            i.get("kind"), str) and isinstance(i.get("name"), str) for i in planned):
        _wrong(path, "field 'cleanup.planned'", list, planned)


def _show(value: Any) -> str:
    """A value for an error message, never quoted whole (a hand edit may paste anything)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _wrong(path: Path, where: str, kind, value: Any) -> None:
    """Refuse a field of the wrong type, naming the file, the field and what was expected."""
    words = {int: "a whole number", float: "a number", dict: "an object", list: "a list",
             str: "a string"}
    names = " or ".join(words.get(k, k.__name__) for k in (kind if isinstance(kind, tuple) else (kind,)))
    raise StateError(
        f"{path}: {where} should be {names}, not {type(value).__name__} {_show(value)}; the "
        "file was probably edited by hand.",
        remediation=f"Fix the field, or restore the backup ({path.with_name(BACKUP_FILE)}).",
    )


@dataclass
class StateStore:
    """Reads and writes ``state.json`` in a state directory."""

    state_dir: Path

    @property
    def path(self) -> Path:
        """The state document's path."""
        return self.state_dir / STATE_FILE

    @property
    def backup_path(self) -> Path:
        """Where the previous version is kept."""
        return self.state_dir / BACKUP_FILE

    def exists(self) -> bool:
        """Whether a lab has been started in this directory."""
        return self.path.exists()

    def load(self) -> dict:
        """The state document; a new one when there is none yet.

        A corrupted file, a file from a newer labwiz, or one with fields of the wrong type raises
        :class:`StateError` naming the file, the backup and what to do. It is never reset silently.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return new_document()
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            backup = self.backup_path
            hint = (
                f"A backup of the previous version is at {backup}: copy it over {self.path} to "
                "go back one change."
                if backup.exists()
                else f"No backup exists; move {self.path} away to start the lab again."
            )
            raise StateError(
                f"The state file {self.path} is corrupted ({exc.__class__.__name__}: {exc}).",
                remediation=hint,
            ) from None
        version = doc.get("schema_version") if isinstance(doc, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            writer = doc.get("labwiz_version", "a newer labwiz")
            raise StateError(
                f"The state file {self.path} has schema version {version}, written by labwiz "
                f"{writer}; this labwiz ({__version__}) reads schema version {SCHEMA_VERSION}.",
                remediation=f"Upgrade labwiz to {writer} or later (pip install -U labwiz), or use "
                "another --state-dir.",
            )
        _check_shape(doc, self.path)
        return doc

    def save(self, doc: dict) -> dict:
        """Write ``doc`` atomically with its serial increased; keep the previous file as backup."""
        ensure_private_dir(self.state_dir)
        doc["serial"] = int(doc.get("serial", 0)) + 1
        doc["updated_at"] = now_iso()
        doc["labwiz_version"] = __version__
        data = json.dumps(doc, indent=2, sort_keys=True, default=_encode).encode() + b"\n"
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.path.exists():
            # a hard link is atomic and costs no copy: the backup is exactly the previous file
            backup_tmp = self.backup_path.with_name(f".{BACKUP_FILE}.tmp")
            try:
                backup_tmp.unlink(missing_ok=True)
                os.link(self.path, backup_tmp)
                os.replace(backup_tmp, self.backup_path)
            except OSError:
                pass  # a filesystem without hard links: keep going, the write itself is what matters
        os.replace(tmp, self.path)
        _fsync_dir(self.state_dir)
        return doc


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
