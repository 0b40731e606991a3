"""The WSGI front of the sandbox's single AWS endpoint.

Every AWS request reaches this one app. It

* answers ``GET /_labwiz/health`` (not a valid bucket name, so it cannot shadow S3) and
  ``GET /_labwiz/calls?service=sagemaker&since=N``: the outside calls in the order they came,
  with the SageMaker resource each named and the HTTP status answered (the differential tests
  compare what two controllers sent),
* recognises the internal clients of the sandbox (they sign with :data:`INTERNAL_ACCESS_KEY_ID`)
  and lets them past every fault,
* applies the fault configuration to everyone else, answering in the protocol the caller's SDK
  expects (query XML for IAM/STS, JSON for ``X-Amz-Target`` services, rest-JSON headers for
  EKS-style services, S3's own XML), and counts their calls by service and operation,
* enforces S3's ``ExpectedBucketOwner`` header, which moto ignores,
* routes SageMaker's API and sagemaker-runtime to our SageMaker app, IAM's
  ``SimulatePrincipalPolicy`` (which moto lacks) to :mod:`.iam_simulator`, the rest to moto, and
* tells the persistence store which moto service a mutating call changed.
"""

from __future__ import annotations

import io
import json
from collections import deque
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

#: internal clients (provisioning, the daemon's own checks) sign with this key; faults skip them
INTERNAL_ACCESS_KEY_ID = "AKIALABWIZINTERNAL00"
INTERNAL_SECRET_ACCESS_KEY = "labwiz-internal-not-a-secret"
HEALTH_PATH = "/_labwiz/health"
CALLS_PATH = "/_labwiz/calls"
#: how many calls the ordered log keeps (older ones fall off)
CALL_LOG_SIZE = 20000
_VERBS = ("Create", "Describe", "Update", "Stop", "Delete", "List", "Add")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_INVOCATIONS = re.compile(r"^/endpoints/[^/]+/invocations(-response-stream|-async)?$")
_READ_PREFIXES = ("Describe", "Get", "List", "Head", "Search", "Query", "BatchGet", "Filter")
_IP_HOST = re.compile(r"^(\d+\.){3}\d+$|^\[.*\]$|^localhost$")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


@dataclass
class CallInfo:
    """What the dispatcher learned about one request."""

    service: str | None  # SigV4 signing name, or a guess for unsigned calls
    protocol: str  # "s3", "query", "json" or "rest-json"
    operation: str  # the API action, or the HTTP method for REST calls
    internal: bool
    sagemaker: bool
    bucket: str | None
    read_only: bool


def _read_form_body(environ: dict) -> str:
    """Read a small form body and put it back so the next app can read it too."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body.decode("utf-8", "replace")


def classify(environ: dict) -> CallInfo:
    """Work out service, protocol, operation and caller of a request from its headers."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "") or "/"
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL.search(auth)
    if not match:  # presigned URLs carry the credential in the query string
        query = parse_qs(environ.get("QUERY_STRING", ""))
        cred = (query.get("X-Amz-Credential") or [""])[0]
        parts = cred.split("/")
        key, service = (parts[0], parts[3]) if len(parts) == 5 else (None, None)
    else:
        key, service = match.group(1), match.group(3)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    sagemaker = service == "sagemaker" or target.startswith("SageMaker.") or bool(
        _INVOCATIONS.match(path)
    )
    if target:
        protocol, operation = "json", target.rsplit(".", 1)[-1]
    elif service == "s3" or (service is None and not form and not sagemaker):
        protocol, operation, service = "s3", method, "s3"
    elif form:
        action = parse_qs(_read_form_body(environ)).get("Action", [""])[0]
        protocol, operation = "query", action
    else:
        protocol, operation = "rest-json", method
    if protocol in ("json", "query"):
        read_only = operation.startswith(_READ_PREFIXES)
    else:
        read_only = method in ("GET", "HEAD", "OPTIONS")
    bucket = None
    if protocol == "s3":
        host = (environ.get("HTTP_HOST") or "").rsplit(":", 1)[0]
        first = host.split(".", 1)[0]
        if "." in host and not _IP_HOST.match(host) and first not in ("s3", "localhost"):
            bucket = first  # virtual-hosted style: <bucket>.host
        else:
            bucket = path.lstrip("/").split("/", 1)[0] or None
    return CallInfo(
        service=service,
        protocol=protocol,
        operation=operation,
        internal=key == INTERNAL_ACCESS_KEY_ID,
        sagemaker=sagemaker,
        bucket=bucket,
        read_only=read_only,
    )


def error_response(
    info: CallInfo, status: int, code: str, message: str, method: str = "POST"
) -> tuple[str, list[tuple[str, str]], bytes]:
    """An AWS error in the shape the caller's SDK parses for ``info.protocol``."""
    request_id = str(uuid.uuid4())
    reason = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error",
              503: "Service Unavailable", 429: "Too Many Requests"}.get(status, "Error")
    headers = [("x-amzn-RequestId", request_id)]
    if info.protocol == "s3":
        host_id = uuid.uuid4().hex
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            + (f"<BucketName>{info.bucket}</BucketName>" if info.bucket else "")
            + f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id),
                   ("x-amz-id-2", host_id)]
    elif info.protocol == "query":
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    elif info.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
    else:
        body = json.dumps({"message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    if method == "HEAD":  # a HEAD answer has no body; SDKs read the status alone
        body = b""
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {reason}", headers, body


def expired_token(info: CallInfo, method: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """What AWS answers a call signed with an expired session token, per protocol.

    IAM and STS (query) answer 403 ``ExpiredToken``; S3 answers 400 ``ExpiredToken``; JSON and
    rest-JSON services (SageMaker, EKS, Logs) answer ``ExpiredTokenException``.
    """
    if info.protocol == "s3":
        return error_response(info, 400, "ExpiredToken", "The provided token has expired.", method)
    text = "The security token included in the request is expired"
    if info.protocol == "query":
        return error_response(info, 403, "ExpiredToken", text, method)
    status = 400 if info.protocol == "json" else 403
    return error_response(info, status, "ExpiredTokenException", text, method)


def bucket_owner(bucket: str) -> str | None:
    """The account that owns ``bucket`` in moto (None when no account has it)."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    return owner[1] if owner else None


class AwsDispatcher:
    """The WSGI app in front of moto and the SageMaker app (see the module docstring)."""

    def __init__(self, moto_app: WsgiApp, faults: Any = None, store: Any = None):
        self.moto_app = moto_app
        self.faults = faults
        self.store = store
        self.sagemaker_app: WsgiApp | None = None
        #: why SageMaker is not served, shown in health and in the 503 answer
        self.sagemaker_problem: str | None = "the SageMaker service has not been attached"
        self.lab_bucket: str | None = None
        self.requests = 0
        #: external (not internal) calls answered, by "service:operation" (S3: the HTTP method),
        #: so tests can count what the wizard really sent, e.g. "s3:PUT"
        self.calls: dict[str, int] = {}
        self._calls_lock = threading.Lock()
        #: the same calls in order: {"seq", "service", "operation", "name", "status"}
        self.call_log: deque[dict[str, Any]] = deque(maxlen=CALL_LOG_SIZE)
        self._seq = 0

    def attach_sagemaker(self, app: WsgiApp | None, problem: str | None = None) -> None:
        """Serve SageMaker with ``app``, or record ``problem`` if there is none."""
        self.sagemaker_app = app
        self.sagemaker_problem = None if app is not None else problem

    def health(self) -> dict:
        """What ``/_labwiz/health`` reports."""
        return {
            "moto": True,
            "sagemaker": self.sagemaker_app is not None,
            "sagemaker_problem": self.sagemaker_problem,
            "snapshots_written": getattr(self.store, "snapshots_written", None),
            "snapshot_error": getattr(self.store, "last_error", None),
            "requests": self.requests,
            "calls": dict(self.calls),
        }

    def _fault(self, info: CallInfo, method: str) -> tuple[str, list, bytes] | None:
        """The error this call must get under the faults in force, or None."""
        faults = self.faults
        if faults is None or info.internal:
            return None
        if faults.scenario("credentials") == "ExpiredToken":
            return expired_token(info, method)
        if (
            info.protocol == "s3"
            and self.lab_bucket
            and info.bucket == self.lab_bucket
            and faults.scenario("s3") == "AccessDenied"
        ):
            return error_response(info, 403, "AccessDenied", "Access Denied", method)
        if (
            info.protocol == "json"
            and info.service == "sagemaker"
            and not info.read_only
            and faults.scenario("sagemaker") == "AccessDenied"
        ):
            action = f"sagemaker:{info.operation}"
            return error_response(
                info, 400, "AccessDeniedException",
                f"User: the caller is not authorized to perform: {action} because no "
                f"identity-based policy allows the {action} action", method)
        if faults.transient("throttle"):
            if info.protocol == "s3":
                return error_response(info, 503, "SlowDown", "Please reduce your request rate.", method)
            code = "Throttling" if info.protocol == "query" else "ThrottlingException"
            return error_response(info, 400, code, "Rate exceeded", method)
        if faults.transient("aws-5xx"):
            self._5xx = getattr(self, "_5xx", 0) + 1
            if self._5xx % 2:  # alternate, as real outages show both
                code = "InternalError" if info.protocol == "s3" else "InternalFailure"
                text = ("We encountered an internal error. Please try again."
                        if info.protocol == "s3" else "An internal error occurred.")
                return error_response(info, 500, code, text, method)
            return error_response(info, 503, "ServiceUnavailable",
                                  "Service is unavailable. Please try again.", method)
        return None

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Route one request (WSGI entry point)."""
        self.requests += 1
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if environ.get("PATH_INFO") in (HEALTH_PATH, CALLS_PATH):
            doc = self.health() if environ["PATH_INFO"] == HEALTH_PATH else \
                self.calls_since(environ.get("QUERY_STRING", ""))
            body = json.dumps(doc).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        try:
            info = classify(environ)
            if not info.internal:
                entry = self._log_call(info, environ)
                start_response = _recording_status(start_response, entry)
            failure = self._fault(info, method) or self._expected_owner(info, environ, method)
            if failure is not None:
                status, headers, body = failure
                start_response(status, headers)
                return [body]
            if info.sagemaker:
                return self._sagemaker(info, environ, start_response, method)
            if info.service == "iam" and info.operation == "SimulatePrincipalPolicy":
                from .iam_simulator import answer  # moto does not implement it

                status, headers, body = answer(_read_form_body(environ))
                start_response(status, headers)
                return [body]
            return self._moto(info, environ, start_response)
        except Exception as exc:  # noqa: BLE001 - a request never kills the server
            log.exception("AWS request failed inside the sandbox")
            fallback = CallInfo(None, "rest-json", method, False, False, None, True)
            status, headers, body = error_response(
                fallback, 500, "InternalFailure", f"sandbox error: {exc}", method
            )
            start_response(status, headers)
            return [body]

    def _log_call(self, info: CallInfo, environ: dict) -> dict[str, Any]:
        """Count an outside call and append it to the ordered log (the entry is returned so
        the answer's status can be filled in)."""
        name = _resource_name(info, environ) if info.sagemaker else None
        with self._calls_lock:
            key = f"{info.service}:{info.operation}"
            self.calls[key] = self.calls.get(key, 0) + 1
            self._seq += 1
            entry = {"seq": self._seq, "service": info.service, "operation": info.operation,
                     "name": name, "status": None}
            self.call_log.append(entry)
        return entry

    def calls_since(self, query: str) -> dict[str, Any]:
        """The ordered log after ``since`` (a seq), optionally of one ``service``."""
        args = parse_qs(query)
        try:
            since = int((args.get("since") or ["0"])[0])
        except ValueError:
            since = 0
        service = (args.get("service") or [None])[0]
        with self._calls_lock:
            calls = [dict(c) for c in self.call_log if c["seq"] > since
                     and (service is None or c["service"] == service)]
            return {"last": self._seq, "calls": calls}

    @staticmethod
    def _expected_owner(info: CallInfo, environ: dict,
                        method: str) -> tuple[str, list, bytes] | None:
        """S3's ``ExpectedBucketOwner`` check, which moto skips: 403 when another account owns it.

        Real S3 refuses any bucket call whose ``x-amz-expected-bucket-owner`` names an account
        other than the owner, which is how the wizard tells "someone else's bucket" apart.
        """
        expected = environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER")
        if info.protocol != "s3" or not expected or not info.bucket:
            return None
        owner = bucket_owner(info.bucket)
        if owner is None or owner == expected:
            return None
        return error_response(info, 403, "AccessDenied", "Access Denied", method)

    def _sagemaker(self, info: CallInfo, environ: dict, start_response: StartResponse,
                   method: str) -> Iterable[bytes]:
        if self.sagemaker_app is None:
            status, headers, body = error_response(
                info, 503, "ServiceUnavailable",
                f"SageMaker is not available in this sandbox: {self.sagemaker_problem}", method,
            )
            start_response(status, headers)
            return [body]
        return self.sagemaker_app(environ, start_response)

    def _moto(self, info: CallInfo, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        store = self.store
        if store is None:
            return self.moto_app(environ, start_response)
        # run moto under the shared side of the gate so a snapshot never sees half a change
        store.gate.acquire_read()
        try:
            result = self.moto_app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
        finally:
            store.gate.release_read()
        if not info.read_only:
            store.mark_dirty(info.service)
        return [body]


def _resource_name(info: CallInfo, environ: dict) -> str | None:
    """The SageMaker resource a JSON call names (``TrainingJobName`` for ``*TrainingJob``;
    ``ResourceArn`` for the tag calls); the body is read and put back for the app."""
    if info.protocol != "json":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(params, dict):
        return None
    op = info.operation
    kind = next((op[len(v):] for v in _VERBS if op.startswith(v)), op)
    for key in (f"{kind}Name", "ResourceArn"):
        if isinstance(params.get(key), str):
            return params[key]
    return None


def _recording_status(start_response: StartResponse, entry: dict[str, Any]) -> StartResponse:
    """A ``start_response`` that notes the HTTP status in ``entry``."""
    def recording(status: str, headers: list, exc_info: Any = None) -> Any:
        try:
            entry["status"] = int(status.split(" ", 1)[0])
        except ValueError:
            pass
        return start_response(status, headers, exc_info) if exc_info else \
            start_response(status, headers)
    return recording
