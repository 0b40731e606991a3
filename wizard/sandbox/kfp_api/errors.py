"""gRPC-gateway style errors, as the KFP API server returns them.

The real server runs a gRPC service behind grpc-gateway, so every failure reaches an HTTP client
as a JSON body ``{"error": msg, "code": <grpc code>, "message": msg, "details": []}`` with the HTTP
status grpc-gateway maps that code to. Handlers raise :class:`ApiError`; the HTTP layer renders it.
"""

from __future__ import annotations

#: gRPC code name -> (numeric code, HTTP status), as grpc-gateway maps them
CODES: dict[str, tuple[int, int]] = {
    "INVALID_ARGUMENT": (3, 400),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403),
    "FAILED_PRECONDITION": (9, 400),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "UNAUTHENTICATED": (16, 401),
    "UNIMPLEMENTED": (12, 501),
}


class ApiError(Exception):
    """A request the server refuses; carries the gRPC code name and a message for the caller."""

    def __init__(self, code: str, message: str):
        """``code`` is a gRPC code name from :data:`CODES`."""
        super().__init__(message)
        if code not in CODES:
            raise ValueError(f"unknown gRPC code {code}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        """The HTTP status grpc-gateway answers with for this code."""
        return CODES[self.code][1]

    def body(self) -> dict:
        """The JSON body grpc-gateway writes for this error."""
        return {"error": self.message, "code": CODES[self.code][0], "message": self.message,
                "details": []}


_LIST_HINTS = {"Pipeline": "kfp pipeline list", "Pipeline version": "kfp pipeline list-versions",
               "Experiment": "kfp experiment list", "Run": "kfp run list"}


def not_found(kind: str, ident: str) -> ApiError:
    """The NotFound error for an unknown id of ``kind`` (pipeline, run, ...)."""
    hint = _LIST_HINTS.get(kind)
    where = f" (list them with `{hint}`)" if hint else ""
    return ApiError("NOT_FOUND", f"{kind} {ident} not found: check the id{where}")


def invalid(message: str) -> ApiError:
    """An InvalidArgument error with ``message``."""
    return ApiError("INVALID_ARGUMENT", f"Invalid input error: {message}")
