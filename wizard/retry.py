"""Bounded retries with exponential backoff, that tell the user they are retrying.

AWS, Kubernetes and Kubeflow Pipelines all throttle and sometimes answer 5xx. A retry must be
bounded (a learner's screen must never look frozen forever) and visible ("retrying in 2 s").
"""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

T = TypeVar("T")

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
RETRYABLE_AWS_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "SlowDown", "RequestLimitExceeded", "InternalFailure",
    "InternalError", "ServiceUnavailable", "InternalServerError",
}


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an API error carries, for the clients labwiz uses."""
    for attr in ("status", "status_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether an error is worth retrying: throttling, 5xx, a dropped connection."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code in RETRYABLE_AWS_CODES:
            return True
    if status_of(exc) in RETRYABLE_STATUS:
        return True
    name = type(exc).__name__
    return name in {"ConnectionError", "ConnectTimeout", "ReadTimeout", "ProtocolError",
                    "MaxRetryError", "RemoteDisconnected", "ConnectionResetError",
                    "EndpointConnectionError"}


def retry(fn: Callable[[], T], *, what: str, notify: Callable[[str], None] | None = None,
          attempts: int = 6, base: float = 0.3, cap: float = 5.0,
          should_retry: Callable[[BaseException], bool] = is_transient) -> T:
    """Call ``fn`` until it succeeds, retrying transient errors up to ``attempts`` times.

    ``notify`` receives a line such as "listing pipelines: 503 ServiceUnavailable, retrying in
    0.6 s (attempt 2 of 6)". The last error is raised when attempts run out.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - the predicate decides what is retryable
            if attempt >= attempts or not should_retry(exc):
                raise
            delay = min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            if notify:
                status = status_of(exc)
                label = f"{status} " if status else ""
                notify(f"{what}: {label}{type(exc).__name__}, retrying in {delay:.1f} s "
                       f"(attempt {attempt + 1} of {attempts})")
            time.sleep(delay)
    raise AssertionError("unreachable")
