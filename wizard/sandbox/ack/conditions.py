"""ACK's status conditions and the sorting of AWS errors into terminal and recoverable.

ACK reports a resource's state through three conditions:

* ``ACK.ResourceSynced``: True when the AWS resource matches the spec and nothing is still
  changing; False while a job runs or an endpoint is being created.
* ``ACK.Terminal``: True when AWS refused the request in a way retrying cannot fix (a
  ValidationException, say); the controller stops trying until the spec changes.
* ``ACK.Recoverable``: True when a call failed for a reason that may pass (throttling, a 5xx,
  access denied while permissions propagate); the controller retries with backoff.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

SYNCED = "ACK.ResourceSynced"
TERMINAL = "ACK.Terminal"
RECOVERABLE = "ACK.Recoverable"

#: error codes retrying cannot fix; everything else is retried, as ACK does by default
TERMINAL_CODES = frozenset(
    {
        "ValidationException",
        "ResourceLimitExceeded",
        "ResourceInUse",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "MissingParameter",
        "SerializationException",
        "UnrecognizedClientException",
    }
)
_NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceNotFoundException", "NotFound"})
_NOT_FOUND_TEXT = re.compile(
    r"could not find|not found|does not exist|cannot find|can.t find", re.I)


def now() -> str:
    """The current UTC time in the RFC 3339 form Kubernetes uses."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_code(exc: BaseException) -> tuple[str, str, int]:
    """``(code, message, http_status)`` of a botocore ClientError; other errors give
    ``(class name, text, 0)``."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response.get("Error") or {}
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
        return str(err.get("Code", "")), str(err.get("Message", "")), int(status)
    return type(exc).__name__, str(exc), 0


def is_not_found(exc: BaseException) -> bool:
    """Whether a Describe error means the resource does not exist.

    SageMaker says so either with ResourceNotFound or with a ValidationException whose message
    reads "Could not find ..." or "... not found", depending on the operation.
    """
    code, message, _ = error_code(exc)
    if code in _NOT_FOUND_CODES:
        return True
    return code == "ValidationException" and bool(_NOT_FOUND_TEXT.search(message))


def is_terminal(exc: BaseException) -> bool:
    """Whether an AWS error is one that retrying the same request cannot fix."""
    code, _, status = error_code(exc)
    return code in TERMINAL_CODES and not (500 <= status < 600)


def set_condition(status: dict, ctype: str, value: bool, message: str = "",
                  reason: str = "") -> None:
    """Set one condition in ``status['conditions']``, keeping its transition time if unchanged."""
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    text = "True" if value else "False"
    for cond in conditions:
        if cond.get("type") == ctype:
            if cond.get("status") != text:
                cond["lastTransitionTime"] = now()
            cond["status"] = text
            _set_text(cond, message, reason)
            return
    cond = {"type": ctype, "status": text, "lastTransitionTime": now()}
    _set_text(cond, message, reason)
    conditions.append(cond)


def _set_text(cond: dict, message: str, reason: str) -> None:
    """Set or clear a condition's message and reason."""
    for key, text in (("message", message), ("reason", reason)):
        if text:
            cond[key] = text
        else:
            cond.pop(key, None)


def drop_condition(status: dict, ctype: str) -> None:
    """Remove a condition (ACK removes Terminal/Recoverable once a call succeeds)."""
    if "conditions" in status:
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != ctype]


def get_condition(obj_or_status: dict, ctype: str) -> dict | None:
    """The condition of type ``ctype`` on an object (or its status), or None."""
    status = obj_or_status.get("status", obj_or_status) or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def comparable(status: dict) -> dict:
    """``status`` without transition times, to tell whether a write would change anything."""
    out = dict(status)
    if "conditions" in out:
        out["conditions"] = sorted(
            ({k: v for k, v in c.items() if k != "lastTransitionTime"} for c in out["conditions"]),
            key=lambda c: c.get("type", ""),
        )
    return out
