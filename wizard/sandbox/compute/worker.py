"""A compute worker: ``python -m wizard.sandbox.compute.worker`` with one task as JSON on stdin.

It reports on stdout, one JSON object a line (nothing else is written there):

* ``{"event": "status", "secondary": "Downloading", "message": "..."}`` - a new phase
* ``{"event": "metrics", "metrics": [{"MetricName": "test:msd", "Value": 1.5}]}``
* ``{"event": "done", "result": {...}}`` - success, with what the job produced
* ``{"event": "failed", "reason": "...", "exit_message": "..."}`` - the job's FailureReason

A task holds ``kind`` (processing, training, transform, hosting), ``name``, ``request`` (the
Create call's parameters), ``aws_url``, ``region``, ``account_id``, ``credentials``, ``work_dir``,
``delay`` (seconds between phases, so statuses can be watched) and ``s3_denied`` (the
``s3=AccessDenied`` fault). Diagnostics go to stderr, which the pool keeps in the job's folder.
"""

from __future__ import annotations

import json
import sys
import time
import traceback


class Emitter:
    """Writes the worker's events to stdout, one line each, flushed at once."""

    def __init__(self, out=None):
        """Write to ``out`` (stdout by default)."""
        self.out = out or sys.stdout

    def __call__(self, event: str, **fields) -> None:
        """Send one event."""
        self.out.write(json.dumps({"event": event, **fields}) + "\n")
        self.out.flush()

    def status(self, secondary: str, message: str) -> None:
        """Announce a phase (SecondaryStatus and its message)."""
        self("status", secondary=secondary, message=message)


def pause(task: dict) -> None:
    """Wait the task's phase delay, so each status is visible for a moment as in SageMaker."""
    delay = float(task.get("delay") or 0)
    if delay > 0:
        time.sleep(delay)


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
