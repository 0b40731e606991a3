"""The lab's lock: one labwiz at a time per state directory, and the lock says who holds it.

Exclusion comes from ``flock`` on ``state.lock``: the kernel drops it when the holder dies, however
it dies, so a lock can never be left stale by a crash. The file's content names the holder (pid,
host, start time, command) so that a second process can say who is in the way. When the file names
a process that no longer holds the flock, the new holder takes over and warns.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from pathlib import Path

from wizard.errors import LockHeld
from wizard.paths import LOCK_FILE, ensure_private_dir, open_private
from wizard.state import now_iso


def _describe(holder: dict) -> str:
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
        f"{holder.get('started_at', '?')}, running '{holder.get('command', '?')}'"
    )


class StateLock:
    """An exclusive lock on a state directory, as a context manager."""

    def __init__(self, state_dir: Path, command: str | None = None):
        self.path = Path(state_dir) / LOCK_FILE
        self.command = command or " ".join(["labwiz", *sys.argv[1:]])[:200]
        self._fd: int | None = None
        #: the previous holder's description when a stale lock was taken over, else None
        self.took_over: str | None = None

    def acquire(self) -> "StateLock":
        """Take the lock or raise :class:`LockHeld` naming the holder."""
        ensure_private_dir(self.path.parent)
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read(fd)
            os.close(fd)
            raise LockHeld(
                f"Another labwiz is working on this lab: {_describe(holder)}.",
                remediation="Wait for it to finish or stop it (Ctrl-C in its terminal, or "
                f"kill {holder.get('pid', '<pid>')}); then run your command again.",
                holder=holder,
            ) from None
        previous = self._read(fd)
        if previous.get("pid") and previous.get("pid") != os.getpid():
            # the kernel released the flock, so that process is gone (or crashed): take over
            self.took_over = _describe(previous)
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": now_iso(),
            "command": self.command,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    @staticmethod
    def _read(fd: int) -> dict:
        try:
            raw = os.pread(fd, 4096, 0)
            return json.loads(raw) if raw.strip() else {}
        except (OSError, ValueError):
            return {}

    def holder(self) -> dict:
        """Who holds the lock now (empty when nobody does); reads without taking it."""
        try:
            with open(self.path, "rb") as fh:
                fd = fh.fileno()
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return self._read(fd)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return {}
        except FileNotFoundError:
            return {}

    def release(self) -> None:
        """Release the lock; the file stays, emptied, for the next holder."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "StateLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
