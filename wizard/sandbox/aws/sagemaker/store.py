"""Where the SageMaker app keeps its resources: one JSON file per kind, written atomically.

Records are plain dicts holding the API's fields (timestamps as epoch seconds, as the JSON
protocol sends them) plus internal fields whose names start with ``_``. Every change is written
at once (temporary file, then rename), so a SIGKILL never leaves half a file.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

KINDS = ("ProcessingJob", "TrainingJob", "HyperParameterTuningJob", "TransformJob", "Model",
         "EndpointConfig", "Endpoint")
TAGS = "_tags"


class Store:
    """Resources by kind and name, persisted under ``<data_dir>/state``; thread-safe."""

    def __init__(self, data_dir: Path):
        """Load every kind's records from ``<data_dir>/state``."""
        self.dir = Path(data_dir) / "state"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._data: dict[str, dict[str, Any]] = {}
        for kind in KINDS + (TAGS,):
            self._data[kind] = self._load(kind)

    def _file(self, kind: str) -> Path:
        """The JSON file of one kind."""
        return self.dir / f"{kind}.json"

    def _load(self, kind: str) -> dict:
        """A kind's records from disk; an unreadable file is kept aside, not lost silently."""
        path = self._file(kind)
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
        path.replace(path.with_suffix(".corrupt"))
        return {}

    def save(self, kind: str) -> None:
        """Write one kind to disk atomically."""
        with self.lock:
            payload = json.dumps(self._data[kind], default=str)
            target = self._file(kind)
            tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
            tmp.write_text(payload)
            os.replace(tmp, target)

    def get(self, kind: str, name: str) -> dict | None:
        """A copy of one record, or None."""
        with self.lock:
            record = self._data[kind].get(name)
            return copy.deepcopy(record) if record is not None else None

    def exists(self, kind: str, name: str) -> bool:
        """Whether a record of that name exists."""
        with self.lock:
            return name in self._data[kind]

    def put(self, kind: str, name: str, record: dict) -> None:
        """Store a whole record (replacing any)."""
        with self.lock:
            self._data[kind][name] = copy.deepcopy(record)
            self.save(kind)

    def update(self, kind: str, name: str, **fields: Any) -> dict | None:
        """Set fields of a record (a value of None removes the field); the new copy or None."""
        with self.lock:
            record = self._data[kind].get(name)
            if record is None:
                return None
            for key, value in fields.items():
                if value is None:
                    record.pop(key, None)
                else:
                    record[key] = copy.deepcopy(value)
            self.save(kind)
            return copy.deepcopy(record)

    def mutate(self, kind: str, name: str, fn) -> dict | None:
        """Apply ``fn(record)`` in place under the lock and save; the new copy or None."""
        with self.lock:
            record = self._data[kind].get(name)
            if record is None:
                return None
            fn(record)
            self.save(kind)
            return copy.deepcopy(record)

    def delete(self, kind: str, name: str) -> None:
        """Remove a record if it exists."""
        with self.lock:
            if self._data[kind].pop(name, None) is not None:
                self.save(kind)

    def all(self, kind: str) -> list[dict]:
        """Copies of every record of a kind."""
        with self.lock:
            return copy.deepcopy(list(self._data[kind].values()))

    def items(self, kind: str) -> Iterator[tuple[str, dict]]:
        """(name, copy) pairs of a kind."""
        for record in self.all(kind):
            yield record.get("_name", ""), record

    def tags(self, arn: str) -> list[dict]:
        """The tags of a resource ARN."""
        with self.lock:
            return copy.deepcopy(self._data[TAGS].get(arn, []))

    def set_tags(self, arn: str, tags: list[dict] | None) -> None:
        """Replace a resource's tags (None or empty removes them)."""
        with self.lock:
            if tags:
                self._data[TAGS][arn] = copy.deepcopy(tags)
            else:
                self._data[TAGS].pop(arn, None)
            self.save(TAGS)
