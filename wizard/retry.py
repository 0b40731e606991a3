"""Bounded, visible retries for the HTTP clients of Kubernetes and Kubeflow Pipelines.

Both clients sit on urllib3, so one :class:`urllib3.Retry` subclass serves both: it retries
throttling (429), 5xx answers and dropped connections with exponential backoff, a bounded number
of times, and tells the user through ``notify`` ("Kubernetes GET …/secrets: 503, retrying in
0.6 s (retry 1 of 6)"), so a learner sees the wizard retrying instead of a frozen screen. AWS calls
retry inside botocore; :mod:`wizard.clients` reports those.

A request that changes something (POST, PATCH) is repeated only after 429 or 503, which say the
server did not act on it; after a 500, 502 or 504 it may have, and repeating a "create run"
would start a second run.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)
#: answers that mean the request was not acted on, so even a POST may be sent again
NOT_ACTED_ON = (429, 503)
CHANGING_METHODS = frozenset({"POST", "PATCH"})


class ReportingRetry(Retry):
    """urllib3's Retry that reports each retry and repeats POST/PATCH only when that is safe."""

    def __init__(self, *args: Any, service: str = "", notify: Callable[[str], None] | None = None,
                 **kwargs: Any) -> None:
        """``service`` names the API in messages; ``notify`` hears one line per retry."""
        super().__init__(*args, **kwargs)
        self.service = service
        self.notify = notify
        self.limit = self.total  # urllib3 counts ``total`` down; messages show the bound

    def new(self, **kwargs: Any) -> "ReportingRetry":
        """A copy with changed counters (urllib3 makes one per attempt); keeps the reporting."""
        fresh = super().new(**kwargs)
        fresh.service, fresh.notify, fresh.limit = self.service, self.notify, self.limit
        return fresh

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Whether an answer is worth another attempt (see the module's note on POST)."""
        if (method or "").upper() in CHANGING_METHODS:
            return status_code in NOT_ACTED_ON and status_code in (self.status_forcelist or ())
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None
                  ) -> "ReportingRetry":
        """Count one more attempt (raises when they are used up) and say that it retries."""
        fresh = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.notify is not None:
            cause = str(response.status) if response is not None else type(error).__name__
            path = urlsplit(url or "").path or "/"
            if len(path) > 60:
                path = "…" + path[-59:]
            retries = len(fresh.history)
            # urllib3 waits as the server's Retry-After says when there is one, else backs off
            wait = fresh.get_retry_after(response) if (
                response is not None and self.respect_retry_after_header) else None
            if not wait:  # none, or 0: urllib3 then backs off instead
                wait = fresh.get_backoff_time()
            try:
                self.notify(f"{self.service} {method} {path}: {cause}, retrying in {wait:.1f} s "
                            f"(retry {retries} of {self.limit})")
            except Exception:  # noqa: BLE001 - a broken screen must not break the request
                pass
        return fresh


def reporting_retry(service: str, notify: Callable[[str], None] | None,
                    total: int = 6) -> ReportingRetry:
    """The retry policy labwiz gives the Kubernetes and KFP clients: up to ``total`` retries,
    backoff 0.3 s doubling to 10 s, Retry-After honoured, the last answer returned (so the
    client raises its own error with the status) rather than urllib3's MaxRetryError."""
    return ReportingRetry(
        total=total, backoff_factor=0.3, backoff_max=10, status_forcelist=RETRY_STATUSES,
        raise_on_status=False, respect_retry_after_header=True, service=service, notify=notify)
