"""CloudWatch Logs streams for jobs and endpoints, named as SageMaker names them."""

from __future__ import annotations

import time
from typing import Any


class LogStream:
    """Lines written to one stream of a log group; created on first use, sent in batches.

    Logging must never fail a job, so errors from CloudWatch Logs are counted, not raised.
    """

    def __init__(self, logs: Any, group: str, stream: str, echo=None):
        """Name the group and stream; nothing is sent yet."""
        self.logs = logs
        self.group = group
        self.stream = stream
        self.echo = echo
        self.errors = 0
        self._pending: list[dict] = []
        self._ready = False

    def _ensure(self) -> None:
        """Create the group and the stream if they are not there yet."""
        if self._ready:
            return
        from botocore.exceptions import ClientError

        for call, kwargs in (
            (self.logs.create_log_group, {"logGroupName": self.group}),
            (self.logs.create_log_stream, {"logGroupName": self.group, "logStreamName": self.stream}),
        ):
            try:
                call(**kwargs)
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise
        self._ready = True

    def write(self, line: str) -> None:
        """Queue one line (sent at :meth:`flush`, or when the batch grows)."""
        if self.echo is not None:
            self.echo(line)
        self._pending.append({"timestamp": int(time.time() * 1000), "message": line.rstrip("\n")})
        if len(self._pending) >= 200:
            self.flush()

    def flush(self) -> None:
        """Send the queued lines."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            self._ensure()
            self.logs.put_log_events(logGroupName=self.group, logStreamName=self.stream,
                                     logEvents=batch)
        except Exception:  # noqa: BLE001 - a log outage must not fail the job
            self.errors += 1


def instance_id(seed: str) -> str:
    """An EC2-like instance id (``i-`` and 17 hex digits), stable for a given seed."""
    import hashlib

    return "i-" + hashlib.sha256(seed.encode()).hexdigest()[:17]
