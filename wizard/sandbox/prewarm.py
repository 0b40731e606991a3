"""Import, while the sandbox daemon starts, what the lab's steps will import anyway.

Starting the sandbox takes seconds in the daemon's own process (moto, the account, the cluster,
the ACK controller), while the process that asked for it only polls a file. The steps then
spend about two seconds importing boto3, the kubernetes client and kfp before their first call.
Doing those imports in a thread during the wait moves them off the lab's critical path: the
same modules are imported once, as they would be, only sooner. Nothing is called or
configured; a module that is not installed is simply left to the step that needs it.

The caller joins the thread before it goes on, so the warm-up never imports concurrently with
the caller's own imports (the import system allows it, but a cycle between two threads' imports
would end in a deadlock error).
"""

from __future__ import annotations

import importlib
import threading

#: what the lab's steps import in the wizard's process, heaviest first (measured with
#: ``python -X importtime``: the kubernetes client ~1.3 s, boto3 ~0.4 s, numpy ~0.2 s)
MODULES = ("kubernetes.client", "kubernetes.config", "kubernetes.dynamic", "kubernetes.stream",
           "boto3", "botocore.client", "numpy", "yaml", "kfp", "kfp.components", "kfp.client")


def _import_all(modules: tuple[str, ...]) -> None:
    """Import each of ``modules``; one that is missing or broken is left for its user."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the step that needs it reports the real problem
            pass


def start(modules: tuple[str, ...] = MODULES) -> threading.Thread:
    """Start importing ``modules`` in a daemon thread; join it before importing anything else."""
    thread = threading.Thread(target=_import_all, args=(modules,), name="labwiz-prewarm",
                              daemon=True)
    thread.start()
    return thread
