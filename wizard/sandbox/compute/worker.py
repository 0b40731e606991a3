"""A compute worker: ``python -m wizard.sandbox.compute.worker`` with one task as JSON on stdin.

It reports on stdout, one JSON object a line (nothing else is written there):

* ``{"event": "status", "secondary": "Downloading", "message": "..."}`` - a new phase
* ``{"event": "metrics", "metrics": [{"MetricName": "test:msd", "Value": 1.5}]}``
* ``{"event": "done", "result": {...}}`` - success, with what the job produced
* ``{"event": "failed", "reason": "...", "exit_message": "..."}`` - the job's FailureReason

A task holds ``kind`` (processing, training, transform, hosting), ``name``, ``request`` (the
Create call's parameters), ``aws_url``, ``region``, ``account_id``, ``credentials``, ``work_dir``,
``delay`` (the least time a phase lasts, so statuses can be watched), ``phase_began`` (when the
job's first phase began, on the ``time.monotonic()`` clock) and ``s3_denied`` (the
``s3=AccessDenied`` fault). Diagnostics go to stderr, which the pool keeps in the job's folder.
"""

from __future__ import annotations

import json
import sys
import time
import traceback


class Emitter:
    """Writes the worker's events to stdout, one line each, flushed at once, and paces the
    job's phases: each lasts at least ``pace`` seconds (the task's ``delay``), so a learner can
    watch every status, as in SageMaker.

    The pace is a floor, not an addition: the phase's own work (a download, the k-means fit,
    an upload) runs during it, and the next status waits only for what is left of the pace.
    """

    def __init__(self, out=None, pace: float = 0.0):
        """Write to ``out`` (stdout by default); phases last at least ``pace`` seconds."""
        self.out = out or sys.stdout
        self.pace = pace
        self._phase_began: float | None = None  # monotonic; None: no paced phase yet

    def __call__(self, event: str, **fields) -> None:
        """Send one event; the job's end (done, failed) comes no sooner than the pace."""
        if event in ("done", "failed"):
            self._dwell()
        self.out.write(json.dumps({"event": event, **fields}) + "\n")
        self.out.flush()

    def status(self, secondary: str, message: str) -> None:
        """Announce a phase (SecondaryStatus and its message), once the last one had its pace."""
        self.next_phase()
        self("status", secondary=secondary, message=message)

    def next_phase(self) -> None:
        """End the current phase no sooner than ``pace`` after it began; start the next one."""
        self._dwell()
        self._phase_began = time.monotonic()

    def began_phase_at(self, monotonic: float) -> None:
        """The current phase began at ``monotonic`` (``time.monotonic()``, a clock every process
        on the machine shares), e.g. the job's Starting, begun before the worker started."""
        self._phase_began = monotonic

    def _dwell(self) -> None:
        """Wait for what is left of the current phase's pace."""
        if self.pace > 0 and self._phase_began is not None:
            left = self._phase_began + self.pace - time.monotonic()
            if left > 0:
                time.sleep(left)


def run(task: dict, emit: Emitter) -> dict:
    """Do the task; return its result (raises JobFailure on a job failure)."""
    kind = task.get("kind")
    if kind == "processing":
        from .processing import run_processing
        return run_processing(task, emit)
    if kind == "training":
        from .training import run_training
        return run_training(task, emit)
    if kind == "transform":
        from .serving import run_transform
        return run_transform(task, emit)
    if kind == "hosting":
        from .serving import run_hosting
        return run_hosting(task, emit)
    raise ValueError(f"unknown task kind {kind!r}")


def main() -> int:
    """Read the task, run it, report the outcome; the exit code is 0 unless the worker broke."""
    from .s3io import JobFailure

    emit = Emitter()
    try:
        task = json.loads(sys.stdin.read())
    except ValueError as err:
        emit("failed", reason=f"InternalServerError: the worker got an unreadable task ({err}).")
        return 2
    emit.pace = float(task.get("delay") or 0)
    if task.get("phase_began") is not None:  # the job's first phase began before this process
        emit.began_phase_at(float(task["phase_began"]))
    try:
        result = run(task, emit)
    except JobFailure as failure:
        emit("failed", reason=failure.reason, exit_message=failure.exit_message)
        return 0
    except Exception as err:  # noqa: BLE001 - report every crash as the job's failure
        traceback.print_exc()
        emit("failed", reason=f"InternalServerError: the sandbox's worker failed: "
                              f"{type(err).__name__}: {err}")
        return 1
    emit("done", result=result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
