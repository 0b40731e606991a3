"""Where labwiz keeps a lab's files.

The state directory holds the state document, its backup, the lock, the event log, the log file
and the sandbox's data. It is created 0700 because the ledger names the learner's AWS resources.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_STATE_DIR = "LABWIZ_STATE_DIR"

STATE_FILE = "state.json"
BACKUP_FILE = "state.json.backup"
LOCK_FILE = "state.lock"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "labwiz.log"
SANDBOX_DIR = "sandbox"


def default_state_dir() -> Path:
    """The platform's per-user state directory for labwiz (e.g. ``~/.local/state/labwiz``)."""
    from platformdirs import user_state_dir  # small, but only needed when no dir is given

    return Path(user_state_dir("labwiz", appauthor=False))


def resolve_state_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``--state-dir`` wins, then ``LABWIZ_STATE_DIR``, then the platform default."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env).expanduser().resolve()
    return default_state_dir()


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700; return it."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError:
        # a directory we do not own (e.g. a shared mount): keep going, the files are still 0600
        pass
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with mode 0600, so a new file is never readable by others, not even briefly."""
    return os.open(path, flags, 0o600)
