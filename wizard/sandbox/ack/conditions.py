"""ACK's status conditions and the sorting of AWS errors into terminal and recoverable.

ACK reports a resource's state through three conditions:

* ``ACK.ResourceSynced``: True when the AWS resource matches the spec and nothing is still
  changing; False while a job runs or an endpoint is being created.
* ``ACK.Terminal``: True when AWS refused the request with one of the kind's terminal codes
  (see :mod:`wizard.sandbox.ack.facts`); the controller stops trying until the spec changes.
* ``ACK.Recoverable``: True when a call failed with any other error (throttling, a quota, a
  model that does not exist yet, access denied); the controller retries with backoff.

Which error is which comes per kind from real ACK's generator.yaml (:mod:`.facts`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from wizard.sandbox.ack import facts

SYNCED = "ACK.ResourceSynced"
TERMINAL = "ACK.Terminal"
RECOVERABLE = "ACK.Recoverable"
#: the summary condition ACK's runtime (v0.62) adds: False with the error's message, else Synced's
READY = "Ready"

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


def is_not_found(kind: str, exc: BaseException) -> bool:
    """Whether a Describe error means the resource does not exist, by ACK's rule for ``kind``
    (the code from generator.yaml, and its message prefix where one is configured)."""
    code, message, _ = error_code(exc)
    return facts.is_not_found(kind, code, message)


def is_terminal(kind: str, exc: BaseException) -> bool:
    """Whether ACK treats an AWS error as terminal for ``kind`` (its ``terminal_codes``).

    Anything else, a ValidationException included for the hosting kinds, is recoverable: the
    controller retries it, as real ACK does. Errors that are not AWS answers never are.
    """
    response = getattr(exc, "response", None)
    if not (isinstance(response, dict) and "Error" in response):
        return False
    code, _, _ = error_code(exc)
    return facts.is_terminal_code(kind, code)


def message_of(exc: BaseException) -> str:
    """An error as the real controller writes it into a condition (the Go SDK's wording for an
    AWS error; the error's own text otherwise)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code, message, _ = error_code(exc)
        return facts.error_text(code, message)
    return str(exc).strip() or type(exc).__name__


def set_condition(status: dict, ctype: str, value: bool | None, message: str = "",
                  reason: str = "") -> None:
    """Set one condition in ``status['conditions']``, keeping its transition time if unchanged.

    ``value`` None is the status ``Unknown`` (ACK's ResourceSynced after a recoverable error).
    """
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    text = "Unknown" if value is None else "True" if value else "False"
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


def set_ready(status: dict) -> None:
    """Set the ``Ready`` condition ACK's runtime derives from the others: False with the
    Terminal or Recoverable message when one is True, else the same as ACK.ResourceSynced."""
    terminal, recoverable = get_condition(status, TERMINAL), get_condition(status, RECOVERABLE)
    synced = get_condition(status, SYNCED)
    drop_condition(status, READY)
    for cond, ctype in ((terminal, TERMINAL), (recoverable, RECOVERABLE)):
        if cond and cond.get("status") == "True":
            set_condition(status, READY, False, cond.get("message", ""), ctype)
            return
    if synced:
        value = {"True": True, "False": False}.get(synced.get("status"))
        set_condition(status, READY, value, synced.get("message", ""), synced.get("reason", ""))
    else:
        set_condition(status, READY, None, facts.UNKNOWN_SYNCED_MESSAGE)


def keep_transition_times(status: dict, previous: list[dict]) -> None:
    """Give each condition whose status did not change its earlier ``lastTransitionTime``."""
    before = {c.get("type"): c for c in previous or []}
    for cond in status.get("conditions") or []:
        old = before.get(cond.get("type"))
        if old and old.get("status") == cond.get("status") and old.get("lastTransitionTime"):
            cond["lastTransitionTime"] = old["lastTransitionTime"]


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
