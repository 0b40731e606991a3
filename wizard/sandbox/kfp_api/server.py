"""The sandbox's KFP v2beta1 REST API server (plain HTTP on loopback).

``KfpApiServer(data_dir).start()`` binds a threaded HTTP server; ``kfp.Client(host=server.url)``
and the ``kfp`` CLI talk to it unchanged. Routing, auth, fault injection and error rendering live
here; the resources and runs modules do the work.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, Rule

from .errors import ApiError, invalid
from .multipart import parse_upload
from .resources import Resources
from .runs import RunManager
from .store import Store

log = logging.getLogger(__name__)

API = "/apis/v2beta1"


class KfpApiServer:
    """The KFP API on ``host:port`` (port 0 picks a free one), persisted under ``data_dir``.

    ``run_env`` is merged into every run worker's environment; ``faults`` is a
    :class:`wizard.sandbox.faults.Faults` (``kfp-5xx`` answers 503, ``run=Pending`` holds new
    runs in PENDING); ``auth_token`` makes every
    call but healthz require ``Authorization: Bearer <token>`` or cookie
    ``authservice_session=<token>``; ``multi_user`` reports (and enforces, like KFP's
    multi-user mode) that experiments and runs are listed per namespace.
    """

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0,
                 run_env: dict[str, str] | None = None, faults: Any = None,
                 auth_token: str | None = None, multi_user: bool = False,
                 warm_runs: bool = False, on_first_post: Callable[[], None] | None = None):
        """Set up the store and services; nothing binds until :meth:`start`. ``on_first_post``
        is called once, on the first POST (an upload, an experiment or a run): the sandbox
        starts its SageMaker compute's zygote then, as a lab that posts pipelines will train."""
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.faults = faults
        self.auth_token = auth_token
        self.multi_user = multi_user
        self.store = Store(self.data_dir)
        self.resources = Resources(self.store)
        # warm_runs: a standby worker waits for the next run (RunManager._standby_up)
        self.runs = RunManager(self.store, self.resources, run_env, faults, warm_runs)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._on_first_post = on_first_post
        self.routes = self._routes()

    # life cycle --------------------------------------------------------------------------------
    def start(self) -> "KfpApiServer":
        """Bind, settle runs left over from a previous process, and serve in a thread."""
        if self._httpd is not None:
            return self
        self.runs.recover()
        handler = type("Handler", (_Handler,), {"api": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="kfp-api")
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """The base URL clients use as ``host``."""
        return f"http://{self.host}:{self.port}"

    def healthy(self) -> bool:
        """Whether the healthz endpoint answers."""
        if self._httpd is None:
            return False
        try:
            with urllib.request.urlopen(f"{self.url}{API}/healthz", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop serving; active runs are killed and recorded as FAILED (see runs.py)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
        self.runs.stop()

    # routing -----------------------------------------------------------------------------------
    def _routes(self) -> Any:
        """The API's routes: a werkzeug routing ``Map`` whose endpoints are
        ``handler(args, query, request)``, ``args`` the path's decoded ids by name."""
        r, rs = self.resources, self.runs

        def body(req: "_Handler") -> dict:
            """The request's JSON object body."""
            return req.json_body()

        table: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", "/healthz", lambda a, q, req: self.healthz()),
            ("POST", "/pipelines/upload", lambda a, q, req: r.upload_pipeline(
                q, *parse_upload(req.headers, req.raw_body()))),
            ("POST", "/pipelines/upload_version", lambda a, q, req: r.upload_version(
                q, *parse_upload(req.headers, req.raw_body()))),
            ("POST", "/pipelines/create", lambda a, q, req: r.create_pipeline_and_version(
                body(req))),
            ("POST", "/pipelines", lambda a, q, req: r.create_pipeline(body(req))),
            ("GET", "/pipelines", lambda a, q, req: r.list_pipelines(q)),
            ("GET", "/pipelines/names/<id:name>", lambda a, q, req: r.get_pipeline_by_name(
                a["name"], q)),
            ("GET", "/pipelines/<id:pipeline>", lambda a, q, req: r.get_pipeline(a["pipeline"])),
            ("DELETE", "/pipelines/<id:pipeline>", lambda a, q, req: r.delete_pipeline(
                a["pipeline"], q)),
            ("POST", "/pipelines/<id:pipeline>/versions", lambda a, q, req: r.create_version(
                a["pipeline"], body(req))),
            ("GET", "/pipelines/<id:pipeline>/versions", lambda a, q, req: r.list_versions(
                a["pipeline"], q)),
            ("GET", "/pipelines/<id:pipeline>/versions/<id:version>",
             lambda a, q, req: r.get_version(a["pipeline"], a["version"])),
            ("DELETE", "/pipelines/<id:pipeline>/versions/<id:version>",
             lambda a, q, req: r.delete_version(a["pipeline"], a["version"])),
            ("POST", "/experiments", lambda a, q, req: self.create_experiment(body(req))),
            ("GET", "/experiments", lambda a, q, req: self.list_experiments(q)),
            ("GET", "/experiments/<id:exp>", lambda a, q, req: r.get_experiment(a["exp"])),
            ("DELETE", "/experiments/<id:exp>", lambda a, q, req: rs.delete_experiment(a["exp"])),
            ("POST", "/experiments/<id:exp>:archive",
             lambda a, q, req: rs.archive_experiment(a["exp"], True)),
            ("POST", "/experiments/<id:exp>:unarchive",
             lambda a, q, req: rs.archive_experiment(a["exp"], False)),
            ("POST", "/runs", lambda a, q, req: rs.create(body(req))),
            ("GET", "/runs", lambda a, q, req: self.list_runs(q)),
            ("GET", "/runs/<id:run>", lambda a, q, req: rs.get(a["run"])),
            ("DELETE", "/runs/<id:run>", lambda a, q, req: rs.delete(a["run"])),
            ("POST", "/runs/<id:run>:terminate", lambda a, q, req: rs.terminate(a["run"])),
            ("POST", "/runs/<id:run>:retry", lambda a, q, req: rs.retry(a["run"])),
            ("POST", "/runs/<id:run>:archive",
             lambda a, q, req: rs.set_storage(a["run"], "ARCHIVED")),
            ("POST", "/runs/<id:run>:unarchive",
             lambda a, q, req: rs.set_storage(a["run"], "AVAILABLE")),
            ("GET", "/sandbox/runs/<id:run>/tasks", lambda a, q, req: rs.task_outputs(a["run"])),
            ("GET", "/sandbox/runs/<id:run>/tasks/<task>/log",
             lambda a, q, req: _Text(rs.task_log(a["run"], a["task"]))),
        ]
        # paths arrive as they were sent (percent-encoded); ids are decoded after matching
        return Map([Rule(API + path, endpoint=fn, methods=[method]) for method, path, fn in table],
                   converters={"id": _IdConverter}, strict_slashes=False, merge_slashes=False)

    def dispatch(self, method: str, path: str, query: dict, req: "_Handler") -> Any:
        """Find the handler for ``method path`` and call it."""
        if method == "POST" and self._on_first_post is not None:
            hook, self._on_first_post = self._on_first_post, None
            try:
                hook()
            except Exception:  # noqa: BLE001 - a warm-up is an optimisation; the call goes on
                log.exception("the first-POST hook failed")
        try:
            handler, args = self.routes.bind("sandbox").match(path, method)
        except MethodNotAllowed as exc:
            allowed = sorted(set(exc.valid_methods or ()) - {"HEAD", "OPTIONS"})
            raise ApiError("UNIMPLEMENTED", f"Method {method} is not allowed on {path}; use "
                           f"{', '.join(allowed)}") from None
        except NotFound:
            if path.startswith(f"{API}/recurringruns"):
                raise ApiError("UNIMPLEMENTED", "recurring runs are not available in the "
                               "sandbox; create one-off runs instead") from None
            raise ApiError("NOT_FOUND", f"Not Found: {path} is not a KFP v2beta1 API "
                           "path") from None
        return handler({name: unquote(value) for name, value in args.items()}, query, req)

    # calls with server-level policy -----------------------------------------------------------
    def healthz(self) -> dict:
        """``GET /healthz``."""
        return {"multi_user": self.multi_user, "commit_sha": "labwiz-sandbox",
                "tag_name": "2.x-sandbox"}

    def create_experiment(self, body: dict) -> dict:
        """Experiments need a namespace in multi-user mode, as in KFP."""
        if self.multi_user and not body.get("namespace"):
            raise invalid("Namespace cannot be empty: in multi-user mode an experiment belongs "
                          "to a profile namespace")
        return self.resources.create_experiment(body)

    def list_experiments(self, query: dict) -> dict:
        """Multi-user mode lists experiments of one namespace only."""
        if self.multi_user and not query.get("namespace"):
            raise invalid("In multi-user mode, ListExperiments must filter by namespace; pass "
                          "namespace=<profile namespace>")
        return self.resources.list_experiments(query)

    def list_runs(self, query: dict) -> dict:
        """Multi-user mode lists runs of one namespace or experiment only."""
        if self.multi_user and not query.get("namespace") and not query.get("experiment_id"):
            raise invalid("In multi-user mode, ListRuns must filter by namespace or "
                          "experiment_id")
        return self.runs.list(query)

    def authorized(self, headers: Any) -> bool:
        """Whether a request carries the configured token (always, without one)."""
        if not self.auth_token:
            return True
        auth = headers.get("Authorization") or ""
        if auth.strip() == f"Bearer {self.auth_token}":
            return True
        for part in (headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "authservice_session" and value == self.auth_token:
                return True
        return False


class _IdConverter(BaseConverter):
    """A KFP id in a path: anything up to the next ``/`` or ``:`` (``/runs/<id>:terminate``)."""

    regex = "[^/:]+"


class _Text(str):
    """A handler result sent as text/plain instead of JSON."""


class _Handler(BaseHTTPRequestHandler):
    """One HTTP request; every error ends as a gRPC-gateway body, never a dead server."""

    api: KfpApiServer
    protocol_version = "HTTP/1.1"
    timeout = 300  # close idle keep-alive connections so their threads end
    _body: bytes | None = None

    def setup(self) -> None:
        """Disable Nagle: headers and body go out as two writes, and with delayed ACKs the
        second would otherwise wait ~40 ms on every keep-alive request."""
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Route access logs to logging instead of stderr."""
        log.debug("%s - %s", self.address_string(), format % args)

    def raw_body(self) -> bytes:
        """The request body (read once)."""
        if self._body is None:
            length = int(self.headers.get("Content-Length") or 0)
            self._body = self.rfile.read(length) if length > 0 else b""
        return self._body

    def json_body(self) -> dict:
        """The request body as a JSON object, or InvalidArgument."""
        raw = self.raw_body()
        if not raw.strip():
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise invalid(f"the request body is not valid JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise invalid("the request body must be a JSON object")
        return doc

    def _send(self, status: int, payload: Any) -> None:
        """Write a JSON (or text) response."""
        if isinstance(payload, _Text):
            data, ctype = payload.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        """Auth, faults, dispatch and error rendering for one request."""
        api = self.api
        self._body = None  # keep-alive reuses this handler for the next request
        try:
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/") or "/"
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                self.raw_body()  # drain the body even when the call is refused
            if path != f"{API}/healthz":
                if not api.authorized(self.headers):
                    raise ApiError("UNAUTHENTICATED",
                                   "Request is not authenticated: send 'Authorization: Bearer "
                                   "<token>' or the 'authservice_session' cookie of a signed-in "
                                   "Kubeflow session (it may have expired; sign in again)")
                if api.faults is not None and api.faults.transient("kfp-5xx"):
                    raise ApiError("UNAVAILABLE", "the KFP API server is temporarily unavailable "
                                   "(injected fault kfp-5xx); retry the call")
            self._send(200, api.dispatch(method, path, query, self))
        except ApiError as exc:
            self._send(exc.http_status, exc.body())
        except Exception as exc:  # the server must survive any request
            log.exception("KFP API request failed: %s %s", method, self.path)
            error = ApiError("INTERNAL", f"Internal error: {type(exc).__name__}: {exc}")
            try:
                self._send(error.http_status, error.body())
            except OSError:
                pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """GET."""
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        """POST."""
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        """DELETE."""
        self._handle("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        """PATCH (pipeline updates are not offered; answered as unimplemented)."""
        self._handle("PATCH")
