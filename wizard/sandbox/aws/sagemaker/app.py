"""The SageMaker WSGI app: the API (JSON 1.1, ``X-Amz-Target: SageMaker.<Op>``) and
sagemaker-runtime's ``POST /endpoints/<name>/invocations``.

Handlers live in :mod:`.jobs`, :mod:`.tuning`, :mod:`.hosting` and :mod:`.common`; each takes
``(app, params)`` and returns the response dict or raises :class:`~.errors.SageMakerError`. Work
that takes time runs in background threads that hand the compute to worker processes
(:class:`~wizard.sandbox.compute.supervisor.WorkerPool`), so no request waits for it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import SageMakerError
from .store import Store

log = logging.getLogger(__name__)

DELAY_ENV = "LABWIZ_SAGEMAKER_DELAY"
WORKERS_ENV = "LABWIZ_SAGEMAKER_WORKERS"
DEFAULT_DELAY = 1.0
_INVOKE = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")
#: the region of a SigV4 credential scope (SageMaker keeps each region's resources apart)
_SCOPE_REGION = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/[^/]+/aws4_request")
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            424: "Failed Dependency", 500: "Internal Server Error"}

#: what a job still running when the service died becomes
LOST_REASON = ("InternalServerError: The sandbox's SageMaker service stopped while this {what} "
               "was in progress, so its work was lost. Start it again under a new name.")


class _NoFaults:
    """Stands in for :class:`wizard.sandbox.faults.Faults` when no faults are configured."""

    def scenario(self, kind: str) -> str | None:
        """No scenario fault is ever in force."""
        return None


def _faults(faults: Any) -> Any:
    """A Faults-like object from a Faults, a directory holding faults.json, or None."""
    if faults is None:
        return _NoFaults()
    if isinstance(faults, (str, Path)):
        from wizard.sandbox.faults import Faults

        return Faults(Path(faults))
    return faults


class SageMakerApp:
    """See the module docstring. Build it with :func:`make_sagemaker_app`."""

    def __init__(self, data_dir: Path, aws_url: str, region: str, faults: Any = None,
                 delay: float | None = None, max_workers: int | None = None):
        """Load the stored resources, mark lost work, and get ready to serve."""
        from wizard.sandbox.compute.supervisor import WorkerPool

        from .context import AwsContext

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.region = region
        self.store = Store(self.data_dir)
        self.ctx = AwsContext(aws_url, region)
        self.faults = _faults(faults)
        self.delay = float(os.environ.get(DELAY_ENV, DEFAULT_DELAY)) if delay is None else delay
        workers = max_workers or int(os.environ.get(WORKERS_ENV, "2"))
        self.pool = WorkerPool(workers)
        self.stops: dict[tuple[str, str], threading.Event] = {}
        self.threads: list[threading.Thread] = []
        self.closed = threading.Event()
        self.served_models: dict[str, tuple[float, dict]] = {}
        self.operations: dict[str, Callable[["SageMakerApp", dict], dict]] = {}
        self._regions: dict[str, "RegionalApp"] = {}
        self._regions_lock = threading.Lock()
        from . import common, hosting, jobs, tuning

        for module in (jobs, tuning, hosting, common):
            self.operations.update(module.OPERATIONS)
        self._recover()

    # ----------------------------------------------------------------- lifecycle
    def _recover(self) -> None:
        """Mark work that was in flight when the process died; drop half-deleted endpoints."""
        statuses = {"ProcessingJob": "ProcessingJobStatus", "TrainingJob": "TrainingJobStatus",
                    "TransformJob": "TransformJobStatus",
                    "HyperParameterTuningJob": "HyperParameterTuningJobStatus"}
        from .jobs import finish_record

        for kind, field in statuses.items():
            for record in self.store.all(kind):
                if record.get(field) in ("InProgress", "Stopping"):
                    what = "tuning job" if kind == "HyperParameterTuningJob" else "job"
                    stopped = record[field] == "Stopping"
                    self.store.mutate(kind, record["_name"], lambda r, k=kind, s=stopped, w=what:
                                      finish_record(k, r, "Stopped" if s else "Failed",
                                                    None if s else LOST_REASON.format(what=w)))
        for record in self.store.all("Endpoint"):
            status = record.get("EndpointStatus")
            if status == "Deleting":
                self.store.delete("Endpoint", record["_name"])
            elif status in ("Creating", "Updating", "SystemUpdating", "RollingBack"):
                self.store.update("Endpoint", record["_name"], EndpointStatus="Failed",
                                  FailureReason=LOST_REASON.format(what="endpoint deployment"))

    def in_region(self, region: str | None) -> Any:
        """The app as seen from ``region``: itself for its own region, else a view with that
        region's own store, ARNs and work folders (real SageMaker is regional: a name or ARN
        in one region is unknown in another)."""
        if not region or region == self.region:
            return self
        with self._regions_lock:
            if region not in self._regions:
                self._regions[region] = RegionalApp(self, region)
            return self._regions[region]

    def region_of(self, environ: dict) -> str | None:
        """The region a request was signed for (None when unsigned)."""
        match = _SCOPE_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        return match["region"] if match else None

    def scenario(self, kind: str) -> str | None:
        """The scenario fault of ``kind`` in force, if any."""
        return self.faults.scenario(kind)

    def spawn(self, target: Callable, *args: Any, name: str) -> threading.Thread:
        """Run ``target(*args)`` in a daemon thread that logs, never raises."""
        def guarded() -> None:
            """Run the target; log whatever it raises."""
            try:
                target(*args)
            except Exception:  # noqa: BLE001 - a background failure must not go unseen
                log.exception("background task %s failed", name)

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    def stop_event(self, kind: str, name: str) -> threading.Event:
        """The event that asks the work on one resource to stop."""
        return self.stops.setdefault((kind, name), threading.Event())

    def sleep(self, factor: float = 1.0) -> bool:
        """Wait one simulated phase (``delay * factor``); False if the app is closing."""
        return not self.closed.wait(self.delay * factor)

    def shutdown(self) -> None:
        """Stop background work and kill the workers (their jobs are failed at next start)."""
        self.closed.set()
        for event in list(self.stops.values()):
            event.set()
        self.pool.shutdown()
        for thread in list(self.threads):
            thread.join(timeout=5)

    # ----------------------------------------------------------------- WSGI
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Answer one request (WSGI entry point); errors become AWS error documents."""
        request_id = str(uuid.uuid4())
        path = environ.get("PATH_INFO", "") or "/"
        try:
            body = _read_body(environ)
            match = _INVOKE.match(path)
            regional = self.in_region(self.region_of(environ))
            if match and environ.get("REQUEST_METHOD", "POST").upper() == "POST":
                return self._invoke(regional, environ, match["name"], body, start_response,
                                    request_id)
            return self._api(regional, environ, body, start_response, request_id)
        except Exception as err:  # noqa: BLE001 - a request never kills the server
            log.exception("SageMaker request failed")
            payload = json.dumps({"__type": "InternalFailure",
                                  "message": f"sandbox error: {type(err).__name__}: {err}"})
            return _respond(start_response, 500, payload.encode(),
                            "application/x-amz-json-1.1", request_id)

    def _api(self, regional: Any, environ: dict, body: bytes, start_response: Callable,
             request_id: str) -> Iterable[bytes]:
        """A SageMaker API call."""
        from . import shapes

        target = environ.get("HTTP_X_AMZ_TARGET", "")
        op_name = target.split(".", 1)[1] if target.startswith("SageMaker.") else ""
        try:
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise SageMakerError("SerializationException", "The request body is not JSON.")
            if not isinstance(params, dict):
                raise SageMakerError("SerializationException", "The request body is not an object.")
            handler = self.operations.get(op_name)
            if handler is None:
                known = shapes.operation(op_name) if op_name else None
                if known is None:
                    raise SageMakerError("UnknownOperationException",
                                         f"Unknown operation '{target or '(no X-Amz-Target)'}'.")
                raise SageMakerError(
                    "InvalidAction", f"The sandbox does not implement SageMaker's {op_name}. "
                    f"It implements: {', '.join(sorted(self.operations))}.")
            shapes.validate(op_name, params)
            result = handler(regional, params) or {}
            payload = json.dumps(result).encode()
            return _respond(start_response, 200, payload, "application/x-amz-json-1.1", request_id)
        except SageMakerError as err:
            payload = json.dumps({"__type": err.code, "message": err.message}).encode()
            return _respond(start_response, err.status, payload, "application/x-amz-json-1.1",
                            request_id)

    def _invoke(self, regional: Any, environ: dict, name: str, body: bytes,
                start_response: Callable, request_id: str) -> Iterable[bytes]:
        """sagemaker-runtime InvokeEndpoint (rest-json: errors in x-amzn-ErrorType)."""
        from .hosting import invoke

        try:
            status, payload, ctype, extra = invoke(
                regional, name, body, environ.get("CONTENT_TYPE"), environ.get("HTTP_ACCEPT"))
            return _respond(start_response, status, payload, ctype, request_id, extra)
        except SageMakerError as err:
            payload = json.dumps({"ErrorCode": err.code, "message": err.message}).encode()
            return _respond(start_response, err.status, payload, "application/json", request_id,
                            [("x-amzn-ErrorType", err.code)])


class RegionalApp:
    """The SageMaker app for a region other than its own: the same workers, faults and
    threads, with that region's store (``<data_dir>/regions/<region>``), ARNs and work folders.
    Anything else is the app's."""

    def __init__(self, app: SageMakerApp, region: str):
        """Open (or create) the region's store and mark its lost work, as the app does its own."""
        from .context import AwsContext

        self._app = app
        self.region = region
        self.data_dir = app.data_dir / "regions" / region
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir)
        self.ctx = AwsContext(app.ctx.aws_url, region)
        SageMakerApp._recover(self)  # type: ignore[arg-type]

    def stop_event(self, kind: str, name: str) -> threading.Event:
        """The stop event of one resource of this region."""
        return self._app.stops.setdefault((f"{self.region}/{kind}", name), threading.Event())

    def __getattr__(self, name: str) -> Any:
        """Everything regional is set above; the rest is the app's."""
        return getattr(self._app, name)


def _read_body(environ: dict) -> bytes:
    """The request body (by Content-Length)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _respond(start_response: Callable, status: int, payload: bytes, content_type: str,
             request_id: str, extra: list | None = None) -> list[bytes]:
    """Start the response and return its body."""
    headers = [("Content-Type", content_type), ("Content-Length", str(len(payload))),
               ("x-amzn-RequestId", request_id)] + list(extra or [])
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [payload]


def make_sagemaker_app(data_dir: Path, aws_url: str, region: str, faults: Any = None, *,
                       delay: float | None = None, max_workers: int | None = None) -> SageMakerApp:
    """The SageMaker WSGI app (call ``.shutdown()`` when done).

    ``aws_url`` is the endpoint of moto (S3, IAM, STS, CloudWatch Logs); ``faults`` a
    :class:`wizard.sandbox.faults.Faults`, a directory holding ``faults.json``, or None.
    ``delay`` is the simulated time of one status phase in seconds (default: env
    ``LABWIZ_SAGEMAKER_DELAY`` or 1.0); ``max_workers`` bounds concurrent worker processes
    (default: env ``LABWIZ_SAGEMAKER_WORKERS`` or 2).
    """
    return SageMakerApp(Path(data_dir), aws_url, region, faults, delay=delay,
                        max_workers=max_workers)
