"""What every remover shares: the outcome words and the 'keep it' signal."""

from __future__ import annotations

import time

REMOVED = "removed"
GONE = "already gone"
#: how long to wait for something being deleted (an endpoint takes minutes on AWS)
WAIT_SECONDS = 900.0


class Keep(Exception):
    """Raised by a remover that must not remove an item; the message says why."""


#: seconds between looks while waiting for a deletion: on AWS a deletion takes seconds to
#: minutes, so twice a second is plenty; the sandbox's finish in a fraction of a second
POLL_SECONDS = 0.5
SANDBOX_POLL_SECONDS = 0.1


def poll_every(ctx) -> float:
    """How often to look while waiting for a deletion (sooner in the sandbox only)."""
    target = getattr(ctx, "target", None)
    return SANDBOX_POLL_SECONDS if getattr(target, "is_sandbox", False) else POLL_SECONDS


def wait_until(check, timeout: float = WAIT_SECONDS, every: float = POLL_SECONDS) -> bool:
    """Poll ``check()`` until it is true or ``timeout`` seconds pass; return the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
