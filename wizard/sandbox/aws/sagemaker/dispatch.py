"""Which AWS requests are SageMaker's, and a small front for running the app beside moto.

:func:`is_sagemaker_request` decides from the headers alone: the SigV4 credential scope names
the service ``sagemaker`` (the API and sagemaker-runtime both sign so), or ``X-Amz-Target`` starts
with ``SageMaker.``, or the path is sagemaker-runtime's ``/endpoints/<name>/invocations``.

:class:`FrontApp` sends SageMaker's requests to the SageMaker app and proxies every other one to
another AWS endpoint (moto's server) over loopback, so one URL serves all of a lab's clients.
The sandbox daemon uses its own front (``wizard.sandbox.aws.dispatch``); this one serves tests,
benchmarks and stand-alone use.
"""

from __future__ import annotations

import http.client
import re
import threading
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")
_RUNTIME_PATH = re.compile(r"^/endpoints/[^/]+/invocations$")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authenticate", "proxy-authorization"}


def is_sagemaker_request(environ: dict) -> bool:
    """Whether a WSGI request is for SageMaker's API or sagemaker-runtime."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match and match["service"] == "sagemaker":
        return True
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("SageMaker."):
        return True
    return environ.get("REQUEST_METHOD") == "POST" and bool(
        _RUNTIME_PATH.match(environ.get("PATH_INFO", "")))


class FrontApp:
    """SageMaker to ``sagemaker_app``, everything else proxied to ``other_url``."""

    def __init__(self, sagemaker_app: Callable, other_url: str):
        """Route to ``sagemaker_app``; proxy the rest to ``other_url``."""
        self.sagemaker_app = sagemaker_app
        parts = urlsplit(other_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Route one request."""
        if is_sagemaker_request(environ):
            return self.sagemaker_app(environ, start_response)
        return self._proxy(environ, start_response)

    def _proxy(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Forward the request unchanged (headers, body, signature) and relay the answer."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else None
        path = environ.get("PATH_INFO", "/")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(environ["REQUEST_METHOD"], path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP
                   and k.lower() != "content-length"]
            out.append(("Content-Length", str(len(data))))
            start_response(f"{resp.status} {resp.reason}", out)
            return [data]
        finally:
            conn.close()


def serve(app: Callable, host: str = "127.0.0.1", port: int = 0) -> tuple[Any, str]:
    """Serve a WSGI app in a background thread; (server, url). Stop with ``server.shutdown()``."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        """Werkzeug's handler without a line on stderr per request."""

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            """Say nothing: tests and benchmarks need a quiet stderr."""
            pass

    server = make_server(host, port, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="sagemaker-front", daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_address[1]}"
