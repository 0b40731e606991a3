"""What every remover shares: the outcome words and the 'keep it' signal."""

from __future__ import annotations

import time

REMOVED = "removed"
GONE = "already gone"
#: how long to wait for something being deleted (an endpoint takes minutes on AWS)
WAIT_SECONDS = 900.0


class Keep(Exception):
    """Raised by a remover that must not remove an item; the message says why."""


def wait_until(check, timeout: float = WAIT_SECONDS, every: float = 0.5) -> bool:
    """Poll ``check()`` until it is true or ``timeout`` seconds pass; return the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
