"""Kubernetes API errors, raised anywhere in the sandbox's API server and turned into ``Status``.

Every failure the server reports travels as an :class:`ApiError`; the HTTP layer serialises it
into the ``Status`` document the real API server sends, so clients (kubectl, the python client)
print the same messages and take the same retry decisions.
"""

from __future__ import annotations

from typing import Any

#: HTTP status code -> the ``reason`` the real API server puts in a Status
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """A failed API call: HTTP code, Status reason, message and optional details."""

    def __init__(self, code: int, message: str, reason: str | None = None,
                 details: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        """Set up the instance (see the class docstring)."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        """The ``Status`` body for this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _qualified(kind_plural: str, group: str) -> str:
    """``plural.group`` as the real server names a resource in messages (``pods`` for core)."""
    return f"{kind_plural}.{group}" if group else kind_plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    """404 for a named object that does not exist."""
    return ApiError(404, f'{_qualified(plural, group)} "{name}" not found',
                    details={"name": name, "group": group, "kind": plural})


def already_exists(plural: str, group: str, name: str) -> ApiError:
    """409 AlreadyExists for a create of a name already taken."""
    return ApiError(409, f'{_qualified(plural, group)} "{name}" already exists', "AlreadyExists",
                    details={"name": name, "group": group, "kind": plural})


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    """409 Conflict, e.g. an update carrying a stale resourceVersion."""
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
        "Conflict", details={"name": name, "group": group, "kind": plural})


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]]) -> ApiError:
    """422 Invalid listing every field error, worded like the real API server.

    ``causes`` holds ``{"field", "reason", "message"}`` items; the message is
    ``Kind.group "name" is invalid: field: message`` (bracketed when there are several).
    """
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(422, f'{qualified} "{name}" is invalid: {joined}', "Invalid",
                    details={"name": name, "group": group, "kind": kind, "causes": causes})


def bad_request(message: str) -> ApiError:
    """400 BadRequest with the given message."""
    return ApiError(400, message, "BadRequest")


def forbidden(user: str, verb: str, plural: str, group: str, namespace: str | None,
              name: str | None = None, subresource: str = "") -> ApiError:
    """403 Forbidden worded as the RBAC authoriser words it."""
    res = f"{plural}/{subresource}" if subresource else plural
    resource_text = f'resource "{res}" in API group "{group}"'
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    target = f'{_qualified(plural, group)} "{name}"' if name else _qualified(plural, group)
    msg = f'{target} is forbidden: User "{user}" cannot {verb} {resource_text} {scope}'
    details: dict[str, Any] = {"group": group, "kind": plural}
    if name:
        details["name"] = name
    return ApiError(403, msg, "Forbidden", details=details)
