"""Persistence for the sandbox KFP server: one JSON document plus per-object blobs.

Layout under ``data_dir``::

    db.json                 pipelines, versions, experiments, runs (metadata only)
    specs/<version_id>.json the pipeline spec of each version (can be large)
    runs/<run_id>/          job.json (what the worker runs), status.json (what it reports),
                            logs/<task>.log, outputs/ (kfp.local's pipeline root)

Every write goes to a temporary file that is fsynced and renamed over the target, so a crash (or a
SIGKILL of the server) never leaves half a file behind.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

COLLECTIONS = ("pipelines", "versions", "experiments", "runs")


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"), default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file; ``default`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


class Store:
    """The server's objects, held in memory and saved to ``db.json`` after every change.

    Callers take :attr:`lock` around a read-modify-save sequence; the HTTP server is threaded.
    """

    def __init__(self, data_dir: Path):
        """Load ``db.json`` from ``data_dir`` (empty collections when there is none)."""
        # absolute: workers run with their run directory as working directory
        self.data_dir = Path(data_dir).absolute()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        raw = read_json(self.db_path, {}) or {}
        self.data: dict[str, dict[str, dict]] = {
            name: dict(raw.get(name) or {}) for name in COLLECTIONS
        }

    @property
    def db_path(self) -> Path:
        """Where the metadata document lives."""
        return self.data_dir / "db.json"

    def save(self) -> None:
        """Persist every collection atomically."""
        with self.lock:
            atomic_write_json(self.db_path, self.data)

    # collections -----------------------------------------------------------------------------
    @property
    def pipelines(self) -> dict[str, dict]:
        """Pipelines by id."""
        return self.data["pipelines"]

    @property
    def versions(self) -> dict[str, dict]:
        """Pipeline versions by id."""
        return self.data["versions"]

    @property
    def experiments(self) -> dict[str, dict]:
        """Experiments by id."""
        return self.data["experiments"]

    @property
    def runs(self) -> dict[str, dict]:
        """Runs by id."""
        return self.data["runs"]

    def snapshot(self, name: str) -> list[dict]:
        """The records of one collection, copied under the lock (safe to iterate)."""
        with self.lock:
            return list(self.data[name].values())

    # blobs -----------------------------------------------------------------------------------
    def spec_path(self, version_id: str) -> Path:
        """The file holding a version's pipeline spec document."""
        return self.data_dir / "specs" / f"{version_id}.json"

    def write_spec(self, version_id: str, spec: dict) -> None:
        """Store a version's pipeline spec document."""
        atomic_write_json(self.spec_path(version_id), spec)

    def read_spec(self, version_id: str) -> dict | None:
        """A version's pipeline spec document, or None if it was lost."""
        return read_json(self.spec_path(version_id))

    def delete_spec(self, version_id: str) -> None:
        """Remove a version's spec file (missing is fine)."""
        try:
            self.spec_path(version_id).unlink()
        except FileNotFoundError:
            pass

    def run_dir(self, run_id: str) -> Path:
        """The directory of one run (job, status, logs, outputs)."""
        return self.data_dir / "runs" / run_id
