"""Warm starts for the labwiz processes the suite runs: one launcher per pytest worker.

About 300 of the suite's tests run the real CLI as ``python -m wizard``, and each fresh
interpreter spent about 0.9 s of CPU importing boto3, the kubernetes client, kfp and rich before
doing anything; on two cores that was the largest single cost of the suite. The launcher is the
sandbox's zygote (:mod:`wizard.sandbox.zygote`, whose own tests check that a child runs a module
as ``python -m`` does): a single-threaded process that imports those libraries once, then forks
one child per call with the call's argv, environment, working directory, stdin, stdout and
stderr, and reports its exit code (a SIGKILL is ``-9``, as :mod:`subprocess` reports it).
labwiz's own modules are not preloaded: every child imports them afresh.

A call falls back to a plain interpreter when its environment sets something a preloaded
library (or the interpreter itself) reads only at start-up, when the launcher cannot fork, and
when ``LABWIZ_TEST_FORK=0`` (to rule the launcher out when a test misbehaves). The tests that
are about process start-up itself (the lean install, the terminal tests, the crash harness)
start their own interpreters.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

#: what a labwiz process imports that costs most (measured with ``python -X importtime``). None
#: of them may start a thread at import, or the zygote refuses to fork: numpy is left out, as
#: its OpenBLAS starts one
PRELOAD = ["boto3", "boto3.session", "botocore.session", "botocore.client", "s3transfer.manager",
           "kubernetes.client", "kubernetes.config", "kubernetes.watch", "kfp", "kfp.client",
           "kfp.compiler", "rich.console", "rich.table", "click", "yaml", "requests"]
#: settings read at import or interpreter start-up, which a forked child cannot take on: a call
#: that sets one of them (beyond the launcher's own environment) runs in a plain interpreter
_STARTUP_NAMES = {"KUBECONFIG", "_KFP_RUNTIME", "LANG"}
_STARTUP_PREFIXES = ("PYTHON", "LC_")

_lock = threading.Lock()
_launcher = None
_launcher_env: dict[str, str] | None = None


def _get(cwd: Path):
    """This worker's launcher, started on first use with the suite's base environment for
    labwiz (:func:`tests.conftest.labwiz_env`); None when turned off."""
    global _launcher, _launcher_env
    if os.environ.get("LABWIZ_TEST_FORK", "1") == "0":
        return None
    with _lock:
        if _launcher is None:
            from tests.conftest import labwiz_env
            from wizard.sandbox.zygote import Zygote

            _launcher_env = labwiz_env()
            _launcher = Zygote(PRELOAD, env=_launcher_env, cwd=str(cwd))
            atexit.register(_launcher.stop)
        return _launcher


def _forkable(env: dict[str, str]) -> bool:
    """Whether a child forked from the launcher would start as a fresh interpreter with ``env``
    would: nothing read at start-up differs from the launcher's environment."""
    assert _launcher_env is not None
    for name in set(env) | set(_launcher_env):
        if name in _STARTUP_NAMES or name.startswith(_STARTUP_PREFIXES):
            if env.get(name) != _launcher_env.get(name):
                return False
    return True


def _text(data: bytes) -> str:
    """Output as ``subprocess.run(text=True)`` gives it: decoded, newlines translated."""
    return data.decode("utf-8", errors="strict").replace("\r\n", "\n").replace("\r", "\n")


def run_forked(args: list[str], env: dict[str, str], *, cwd: Path,
               timeout: float) -> subprocess.CompletedProcess | None:
    """``python -m wizard *args`` forked from the launcher, as :func:`subprocess.run` with
    ``capture_output=True, text=True`` and no input would return it (stdin is the null device);
    None when it cannot be forked."""
    launcher = _get(cwd)
    if launcher is None or not _forkable(env):
        return None
    cmd = [sys.executable, "-m", "wizard", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin = os.open(os.devnull, os.O_RDONLY)
        try:
            child = launcher.spawn("wizard", list(args), env, str(cwd), stdin, out.fileno(),
                                   err.fileno())
        finally:
            os.close(stdin)
        if child is None:
            return None
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.kill(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
            raise subprocess.TimeoutExpired(cmd, timeout, output=_read(out),
                                            stderr=_read(err)) from None
        return subprocess.CompletedProcess(cmd, code, _read(out), _read(err))


def _read(handle) -> str:
    """All the child wrote to ``handle`` (it shares the file's offset)."""
    handle.seek(0)
    return _text(handle.read())
