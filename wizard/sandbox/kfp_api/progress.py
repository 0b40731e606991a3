"""The run's progress document, written by the worker and read by the server.

``runs/<run_id>/status.json`` holds the run state and one entry per task (keyed by its path in
the DAG, e.g. ``train`` or ``outer/inner``). The worker rewrites it atomically on every change.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .store import atomic_write_json

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")


def now() -> str:
    """The current UTC time in RFC 3339 with milliseconds, as the API returns times."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """A JSON-friendly form of a task output: artifacts become their uri, name and metadata."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    uri = getattr(value, "uri", None)
    if uri is not None:
        return {"name": getattr(value, "name", ""), "uri": uri,
                "schema_title": getattr(value, "schema_title", ""),
                "metadata": jsonable(getattr(value, "metadata", {}) or {})}
    return repr(value)


class Progress:
    """Thread-safe holder of the status document; every change is flushed to disk."""

    def __init__(self, path: Path, run_id: str):
        """Start a PENDING document for ``run_id`` kept at ``path``."""
        self.path = path
        self.lock = threading.Lock()
        self.doc: dict[str, Any] = {"run_id": run_id, "state": "PENDING", "error": None,
                                    "started_at": None, "finished_at": None, "tasks": {}}

    def flush(self) -> None:
        """Write the document atomically (caller holds the lock)."""
        atomic_write_json(self.path, self.doc)

    def set_run(self, **fields: Any) -> None:
        """Update run-level fields (state, error, started_at, finished_at)."""
        with self.lock:
            self.doc.update(fields)
            self.flush()

    def add_task(self, key: str, display_name: str, parent: str | None, log: str) -> None:
        """Register a task as PENDING (it appears in task_details from the start)."""
        with self.lock:
            parent_id = self.doc["tasks"][parent]["task_id"] if parent else None
            self.doc["tasks"][key] = {
                "task_id": str(uuid.uuid4()), "display_name": display_name, "parent": parent,
                "parent_task_id": parent_id, "state": "PENDING", "create_time": now(),
                "start_time": None, "end_time": None, "error": None, "inputs": {},
                "parameters": {}, "artifacts": {}, "log": log, "exit_code": None,
            }
            self.flush()

    def update_task(self, key: str, **fields: Any) -> None:
        """Change one task's fields; terminal states also stamp the end time."""
        with self.lock:
            task = self.doc["tasks"][key]
            if fields.get("state") == "RUNNING" and not task["start_time"]:
                task["start_time"] = now()
            if fields.get("state") in TERMINAL and not task["end_time"]:
                task["end_time"] = now()
            task.update(fields)
            self.flush()

    def close_open_tasks(self, state: str) -> None:
        """Mark every task that has not finished with ``state`` (SKIPPED/CANCELED)."""
        with self.lock:
            for task in self.doc["tasks"].values():
                if task["state"] not in TERMINAL:
                    task["state"] = state
                    task["end_time"] = now()
            self.flush()
