"""``KubeApiServer``: the sandbox's Kubernetes API server on loopback (plain HTTP).

A ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, so many clients and long watches
run at once. Each request is parsed into an :class:`~.api.Request`, answered by
:class:`~.api.KubeApi`, and written back (watches as a chunked stream of JSON lines).
"""

from __future__ import annotations

import errno
import json
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import KubeApi, Request, Response
from .errors import ApiError


#: plain URL of each server started in this process -> its CA (PEM), for write_kubeconfig
_TLS_CA: dict[str, str] = {}


def ca_for_url(url: str) -> str | None:
    """The CA of a server started in this process at ``url`` (None when unknown)."""
    return _TLS_CA.get(url.rstrip("/"))


class KubeServerError(RuntimeError):
    """The server could not start (the message says why and what to do)."""


class _HTTPServer(ThreadingHTTPServer):
    """Threaded server whose worker threads never keep the process alive."""

    daemon_threads = True
    request_queue_size = 128
    api: KubeApi
    tls_context: ssl.SSLContext | None = None

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up or fails its TLS handshake is not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into API calls and API responses into HTTP."""

    protocol_version = "HTTP/1.1"
    server_version = "labwiz-kube-apiserver"
    server: _HTTPServer

    def setup(self) -> None:
        """Disable Nagle (small JSON answers must not wait for ACKs) and detect TLS."""
        conn = self.request
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.server.tls_context is not None:
            # a TLS ClientHello starts with the handshake record type 0x16; HTTP never does
            conn.settimeout(10)
            try:
                first = conn.recv(1, socket.MSG_PEEK)
            except OSError:
                first = b""
            if first == b"\x16":
                self.request = self.server.tls_context.wrap_socket(conn, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet: the daemon owns logging, and per-request lines would drown it."""

    def _read_body(self) -> bytes:
        """The request body (Content-Length or chunked)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        """Answer one request."""
        try:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            headers: dict[str, list[str]] = {}
            for key, value in self.headers.items():
                headers.setdefault(key.lower(), []).append(value)
            req = Request(self.command, split.path, query, headers, self._read_body())
        except (ValueError, OSError) as exc:
            self._send(Response(400, ApiError(400, f"malformed HTTP request: {exc}").status()))
            return
        resp = self.server.api.handle(req)
        if resp.stream is not None:
            self._send_stream(resp)
        else:
            self._send(resp)

    def _send(self, resp: Response) -> None:
        """Write a whole response."""
        if isinstance(resp.body, (dict, list)):
            data = json.dumps(resp.body, separators=(",", ":")).encode()
        elif isinstance(resp.body, bytes):
            data = resp.body
        else:
            data = str(resp.body if resp.body is not None else "").encode()
        try:
            self.send_response(resp.code)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache, private")
            for key, value in resp.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_stream(self, resp: Response) -> None:
        """Write a watch: chunked JSON lines until the stream ends or the client leaves."""
        stream = resp.stream
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.wfile.flush()
            for chunk in stream:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        except Exception:  # a watch bug ends that watch only
            import traceback

            traceback.print_exc()
            self.close_connection = True
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def do_OPTIONS(self) -> None:  # noqa: N802 - stdlib naming
        """OPTIONS is not part of the Kubernetes API."""
        self._read_body()
        err = ApiError(405, "the server does not allow this method on the requested resource",
                       "MethodNotAllowed")
        self._send(Response(405, err.status()))


class KubeApiServer:
    """The sandbox's Kubernetes API server (see the package docstring for what it serves)."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0, faults=None):
        """Set up the instance (see the class docstring)."""
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.faults = faults
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.store = None
        self.crud = None
        self.api: KubeApi | None = None
        self._tokens = None
        self.cert_file: Path | None = None

    @property
    def admin_token(self) -> str:
        """The cluster-admin bearer token (stable across restarts of the same data_dir)."""
        if self._tokens is None:
            from .auth import TokenAuthority

            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._tokens = TokenAuthority(self.data_dir)
        return self._tokens.admin_token

    @property
    def tls_url(self) -> str:
        """``https://host:port``: the same port over TLS (what kubectl needs to send tokens)."""
        return self.url.replace("http://", "https://", 1)

    @property
    def ca_data(self) -> str:
        """The PEM certificate kubectl must trust for :attr:`tls_url`."""
        if self.cert_file is None:
            raise KubeServerError("the Kubernetes API server is not started; call start() first")
        return self.cert_file.read_text()

    def url_for(self, httpd: _HTTPServer) -> str:
        """The plain URL of a bound server."""
        return f"http://{self.host}:{httpd.server_address[1]}"

    @property
    def url(self) -> str:
        """``http://host:port`` once started."""
        if self._httpd is None:
            raise KubeServerError("the Kubernetes API server is not started; call start() first")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> "KubeApiServer":
        """Load the store, bind the port and serve in a background thread."""
        from .bootstrap import ensure_defaults
        from .crud import Crud
        from .registry import Registry
        from .store import Store

        if self._httpd is not None:
            return self
        self.admin_token  # noqa: B018 - creates the token authority and data dir
        try:
            httpd = _HTTPServer((self.host, self.port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise KubeServerError(
                    f"port {self.port} on {self.host} is already in use, so the Kubernetes API "
                    "server cannot listen there; stop the process holding it (e.g. an old "
                    "sandbox: `labwiz sandbox down`) or use port=0 to pick a free port") from None
            raise KubeServerError(f"cannot listen on {self.host}:{self.port}: {exc}") from None
        self.store = Store(self.data_dir)
        registry = Registry(self.store)
        self.crud = Crud(self.store, registry, self._tokens)
        ensure_defaults(self.crud)
        self.api = KubeApi(self.store, registry, self.crud, self._tokens, self.faults,
                           host=f"{self.host}:{httpd.server_address[1]}")
        httpd.api = self.api
        from .tls import ensure_certificate, server_context

        self.cert_file, key_file = ensure_certificate(self.data_dir)
        httpd.tls_context = server_context(self.cert_file, key_file)
        _TLS_CA[self.url_for(httpd)] = self.cert_file.read_text()
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="kube-apiserver", daemon=True)
        self._thread.start()
        return self

    def healthy(self) -> bool:
        """Whether ``/healthz`` answers ``ok``."""
        import urllib.request

        if self._httpd is None:
            return False
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                return resp.status == 200 and resp.read() == b"ok"
        except OSError:
            return False

    def stop(self) -> None:
        """Stop serving, end watches and write everything to disk."""
        if self._httpd is None:
            return
        self.api.stopping = True
        self.store.wake_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        _TLS_CA.pop(self.url_for(self._httpd), None)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()
        self._httpd = None

    def __enter__(self) -> "KubeApiServer":
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving it."""
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m wizard.sandbox.kube.server DATA_DIR [PORT]``: run until interrupted."""
    import signal
    import time

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m wizard.sandbox.kube.server DATA_DIR [PORT]", file=sys.stderr)
        return 2
    server = KubeApiServer(Path(args[0]), port=int(args[1]) if len(args) > 1 else 0)
    try:
        server.start()
    except KubeServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"url": server.url, "token": server.admin_token}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
