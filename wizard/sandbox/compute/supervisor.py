"""The pool that runs compute workers for the SageMaker API, never blocking it.

:meth:`WorkerPool.run` is called from a job's own thread: it waits for a free slot (at most
``max_workers`` workers at once, which keeps the sandbox's memory bounded), starts
``python -m wizard.sandbox.compute.worker`` in its own process group, hands it the task and calls
``on_event`` for each event the worker reports. A stop request kills the whole process group
(the worker and any script it runs).
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
from typing import Callable

_REPO_ROOT = str(Path(__file__).resolve().parents[3])


class WorkerPool:
    """Bounded, stoppable worker processes (see the module docstring)."""

    def __init__(self, max_workers: int = 2, python: str | None = None):
        """At most ``max_workers`` workers at once, run with ``python``."""
        self.python = python or sys.executable
        self._slots = threading.BoundedSemaphore(max(1, max_workers))
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen] = {}
        self._closed = False
        self.started = 0

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
        with open(log_path, "ab") as errlog:
            proc = subprocess.Popen(
                [self.python, "-m", "wizard.sandbox.compute.worker"],
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
            with self._lock:
                self._running.pop(proc.pid, None)
        if final is None:
            final = {"event": "failed", "reason": (
                f"InternalServerError: the sandbox's worker exited with code {proc.returncode} "
                f"before finishing; see {log_path}.")}
        return final

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
