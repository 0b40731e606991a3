"""The pool that runs compute workers for the SageMaker API, never blocking it.

:meth:`WorkerPool.run` is called from a job's own thread: it waits for a free slot (at most
``max_workers`` workers at once, which keeps the sandbox's memory bounded), starts
``python -m wizard.sandbox.compute.worker`` in its own process group, hands it the task and calls
``on_event`` for each event the worker reports. A stop request kills the whole process group
(the worker and any script it runs).

Workers fork from a zygote (:mod:`wizard.sandbox.zygote`) that has numpy, scikit-learn, boto3
and the compute modules imported, so a job no longer spends seconds importing before it works;
each still is its own process, in its own session, running ``wizard.sandbox.compute.worker`` as
``__main__`` with the same task, environment and pipes. When the zygote cannot fork (it is gone,
or it would not be safe), the worker starts as a fresh interpreter, as it always did.
``LABWIZ_SANDBOX_WARM=0`` turns the zygote off.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

_REPO_ROOT = str(Path(__file__).resolve().parents[3])
WORKER_MODULE = "wizard.sandbox.compute.worker"
#: what a worker imports before or while it works (not the worker module itself: it runs as
#: __main__, as with -m)
PRELOAD = ["numpy", "sklearn.cluster", "boto3", "botocore.config", "botocore.exceptions",
           "wizard.sandbox.compute.kmeans", "wizard.sandbox.compute.s3io",
           "wizard.sandbox.compute.cwlogs", "wizard.sandbox.compute.training",
           "wizard.sandbox.compute.processing", "wizard.sandbox.compute.serving"]


class WorkerPool:
    """Bounded, stoppable worker processes (see the module docstring)."""

    def __init__(self, max_workers: int = 2, python: str | None = None,
                 warm: bool | None = None):
        """At most ``max_workers`` workers at once, run with ``python``; ``warm`` (default:
        unless ``LABWIZ_SANDBOX_WARM=0``) forks them from a zygote, started by
        :meth:`warm_up` (the sandbox calls it on the KFP API's first POST, a few seconds before
        a lab's first job, so its imports neither slow the sandbox's start nor cost a sandbox
        that never trains) or else by the first job."""
        self.python = python or sys.executable
        self._slots = threading.BoundedSemaphore(max(1, max_workers))
        self._lock = threading.Lock()
        self._running: dict[int, Any] = {}
        self._closed = False
        self.started = 0
        self._zygote = None
        if warm is None:
            warm = os.environ.get("LABWIZ_SANDBOX_WARM", "1").strip().lower() not in (
                "0", "false", "no", "off")
        if warm and self.python == sys.executable:
            from wizard.sandbox.zygote import Zygote

            self._zygote = Zygote(PRELOAD, env=self._env(), cwd=_REPO_ROOT)

    def warm_up(self) -> None:
        """Start the zygote now (its imports go on in the background)."""
        if self._zygote is not None and not self._closed:
            self._zygote.start()

    def _env(self) -> dict:
        """The worker's environment: one BLAS thread (memory and CPU stay modest), our package."""
        env = dict(os.environ)
        env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "PYTHONUNBUFFERED": "1"})
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_REPO_ROOT, env.get("PYTHONPATH")) if p)
        return env

    def run(self, task: dict, on_event: Callable[[dict], None], stop: threading.Event,
            log_path: Path) -> dict:
        """Run one task to its end; the final event (``done`` or ``failed``) is returned.

        A worker that dies without a final event yields a ``failed`` event saying so; a stop
        yields ``{"event": "stopped"}``.
        """
        while not self._slots.acquire(timeout=0.2):
            if stop.is_set() or self._closed:
                return {"event": "stopped"}
        try:
            if stop.is_set() or self._closed:
                return {"event": "stopped"}
            return self._run(task, on_event, stop, log_path)
        finally:
            self._slots.release()

    def _run(self, task: dict, on_event: Callable[[dict], None], stop: threading.Event,
             log_path: Path) -> dict:
        """Start the worker and follow its events (slot already held)."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        proc = self._fork(log_path)
        if proc is None:
            with open(log_path, "ab") as errlog:
                proc = subprocess.Popen(
                    [self.python, "-m", WORKER_MODULE],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog,
                    env=self._env(), start_new_session=True, cwd=_REPO_ROOT,
                )
        with self._lock:
            self._running[proc.pid] = proc
            self.started += 1
        final: dict | None = None
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(task).encode())
            proc.stdin.close()
            final = self._follow(proc, on_event, stop)
        finally:
            if proc.poll() is None:
                self._kill(proc)
            proc.wait()
            proc.stdout.close()
            with self._lock:
                self._running.pop(proc.pid, None)
        if final is None:
            final = {"event": "failed", "reason": (
                f"InternalServerError: the sandbox's worker exited with code {proc.returncode} "
                f"before finishing; see {log_path}.")}
        return final

    def _fork(self, log_path: Path) -> Any:
        """A worker forked from the zygote, with pipes for its stdin and stdout, or None."""
        if self._zygote is None:
            return None
        in_read, in_write = os.pipe()
        out_read, out_write = os.pipe()
        with open(log_path, "ab") as errlog:
            child = self._zygote.spawn(WORKER_MODULE, [], self._env(), _REPO_ROOT, in_read,
                                       out_write, errlog.fileno(), new_session=True)
        os.close(in_read)
        os.close(out_write)
        if child is None:
            os.close(in_write)
            os.close(out_read)
            return None
        child.stdin, child.stdout = os.fdopen(in_write, "wb"), os.fdopen(out_read, "rb")
        return child

    def _follow(self, proc: subprocess.Popen, on_event: Callable[[dict], None],
                stop: threading.Event) -> dict | None:
        """Read events until a final one, the end of output, or a stop."""
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buffer = b""
        try:
            while True:
                if stop.is_set() or self._closed:
                    self._kill(proc)
                    return {"event": "stopped"}
                if not sel.select(timeout=0.1):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    return None
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue  # a stray line from a library; events are whole JSON lines
                    if event.get("event") in ("done", "failed"):
                        return event
                    on_event(event)
        finally:
            sel.close()

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        """Kill the worker's process group (it may have started a script)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def running(self) -> list[int]:
        """Pids of the workers running now."""
        with self._lock:
            return list(self._running)

    def shutdown(self) -> None:
        """Refuse new work and kill every running worker."""
        self._closed = True
        with self._lock:
            procs = list(self._running.values())
        for proc in procs:
            self._kill(proc)
        if self._zygote is not None:
            self._zygote.stop()
