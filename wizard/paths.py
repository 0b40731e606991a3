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


#: what a labwiz state directory may hold; an existing directory with none of these (and not
#: empty) belongs to something else and is never taken over or chmod'ed
STATE_MARKERS = (STATE_FILE, BACKUP_FILE, LOCK_FILE, EVENTS_FILE, LOG_FILE, SANDBOX_DIR, "commands",
                 "data", "components", "crds", "pipeline", "build")


def check_state_dir(path: Path) -> None:
    """Refuse an existing, non-empty directory that holds none of labwiz's files (``--state-dir
    ~`` by mistake, say): labwiz would make it private and write into it."""
    from wizard.errors import InputError

    try:
        entries = {p.name for p in Path(path).iterdir()}
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise InputError(f"The state directory {path} is a file.",
                         remediation="Give --state-dir a new or empty directory, or one labwiz "
                         "made.") from None
    except OSError:
        return  # unreadable: creating files in it fails with its own clear error
    if entries and not entries & set(STATE_MARKERS) and not any(
            n.startswith(".state.json.") for n in entries):
        raise InputError(f"{path} is not a labwiz state directory: it exists and holds other "
                         "files; labwiz would make it private (0700) and write its state there.",
                         remediation="Give --state-dir a new or empty directory (e.g. "
                         f"{Path(path) / 'labwiz'}), or the directory of an earlier lab.")


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
