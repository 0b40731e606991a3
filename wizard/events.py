"""The append-only event log (``events.jsonl``): one JSON object per line.

It records every step attempt, every error and every resource created, with the state serial it
belongs to, so that support staff can read the lab's history. Lines are redacted before writing,
and each is written with a single ``write`` on an ``O_APPEND`` descriptor so lines never interleave.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from wizard.paths import EVENTS_FILE, ensure_private_dir, open_private
from wizard.secrets import redact_obj
from wizard.state import now_iso


class EventLog:
    """Appends events to, and reads them from, a state directory's ``events.jsonl``."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / EVENTS_FILE

    def append(self, name: str, /, **fields) -> dict:
        """Record one event called ``name`` (e.g. ``step.started``) with its fields; return it."""
        event = {**redact_obj(fields), "ts": now_iso(), "event": name}
        line = json.dumps(event, default=str, sort_keys=True) + "\n"
        ensure_private_dir(self.path.parent)
        fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return event

    def read(self) -> Iterator[dict]:
        """Every readable event, oldest first; a torn last line (after a crash) is skipped."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
        except FileNotFoundError:
            return
