"""Shared helpers for the generator tests: the real CRDs, and a local stand-in for the GitHub API."""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CRD_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "ack-crds" / "v1.9.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
#: the interpreter running the tests (make test's venv, or any other): never a hard-coded path
PYTHON = Path(sys.executable)
REPO_PATH = "/repos/aws-controllers-k8s/sagemaker-controller"


class FakeGitHub:
    """A loopback HTTP server answering the three GitHub calls the release loader makes.

    `releases` maps tag -> directory of CRD files; `mode` switches to
    "rate_limited" (403 + X-RateLimit headers) or "too_many" (429).
    """

    def __init__(self, releases: dict[str, Path], latest: str):
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        self.releases, self.latest, self.mode = releases, latest, "ok"
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            """Routes GitHub API paths to the configured releases."""

            def log_message(self, *args):  # keep test output quiet
                """Silence the default stderr access log."""

            def _send(self, code, body, ctype="application/json", headers=None):
                """Write one response."""
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                """Answer releases/latest, contents listings and raw downloads."""
                outer.requests.append(self.path)
                url = urllib.parse.urlsplit(self.path)
                if outer.mode == "rate_limited":
                    reset = str(int(time.time()) + 600)
                    return self._send(403, {"message": "API rate limit exceeded"}, headers={
                        "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
                if outer.mode == "too_many":
                    return self._send(429, {"message": "slow down"}, headers={"Retry-After": "30"})
                if url.path == f"{REPO_PATH}/releases/latest":
                    return self._send(200, {"tag_name": outer.latest, "name": outer.latest})
                if url.path == f"{REPO_PATH}/contents/config/crd/bases":
                    ref = urllib.parse.parse_qs(url.query).get("ref", [""])[0]
                    if ref not in outer.releases:
                        return self._send(404, {"message": "No commit found for the ref " + ref})
                    return self._send(200, [
                        {"name": p.name, "type": "file", "path": f"config/crd/bases/{p.name}",
                         "download_url": f"{outer.url}/raw/{ref}/{p.name}"}
                        for p in sorted(outer.releases[ref].glob("*.yaml"))])
                parts = url.path.split("/")
                if len(parts) == 4 and parts[1] == "raw" and parts[2] in outer.releases:
                    f = outer.releases[parts[2]] / parts[3]
                    if f.is_file():
                        return self._send(200, f.read_bytes(), ctype="text/plain")
                return self._send(404, {"message": "Not Found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Shut the server down and free the port."""
        self.server.shutdown()
        self.server.server_close()


def start_kube(data_dir: Path, plurals=("trainingjobs", "endpoints", "models"), faults=None):
    """Start the sandbox's Kubernetes API server with some v1.9.1 CRDs installed.

    Returns (server, kubeconfig path, ApiClient); the kubeconfig context's
    namespace is kubeflow-user-example-com, as in the lab's profile.
    """
    import yaml
    from kubernetes import client, config
    from wizard.sandbox.kube.kubeconfig import write_kubeconfig
    from wizard.sandbox.kube.server import KubeApiServer

    server = KubeApiServer(data_dir / "kube", faults=faults).start()
    kubeconfig = write_kubeconfig(data_dir / "kubeconfig", server.url, server.admin_token,
                                  namespace="kubeflow-user-example-com")
    api = config.new_client_from_config(str(kubeconfig))
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "kubeflow-user-example-com"}})
    ext = client.ApiextensionsV1Api(api)
    for plural in plurals:
        ext.create_custom_resource_definition(
            yaml.safe_load((CRD_DIR / f"sagemaker.services.k8s.aws_{plural}.yaml").read_text()))
    return server, kubeconfig, api


class Controller:
    """Plays the ACK controller in tests: writes a sequence of statuses onto one resource.

    It waits for the resource to appear, then replaces its status with each
    entry of `statuses` in turn, `gap` seconds apart (the real server's
    status subresource, through the real client).
    """

    def __init__(self, api, plural: str, namespace: str, name: str, statuses: list[dict], gap: float = 0.2):
        """Start the background thread at once."""
        from kubernetes import client
        self.objects = client.CustomObjectsApi(api)
        self.args = ("sagemaker.services.k8s.aws", "v1alpha1", namespace, plural, name)
        self.statuses, self.gap = statuses, gap
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        """Wait for the object, then write each status."""
        from kubernetes.client.exceptions import ApiException
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    obj = self.objects.get_namespaced_custom_object(*self.args)
                    break
                except ApiException as exc:
                    if exc.status != 404 or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            for status in self.statuses:
                time.sleep(self.gap)
                obj = self.objects.get_namespaced_custom_object(*self.args)
                obj["status"] = status
                self.objects.replace_namespaced_custom_object_status(*self.args, obj)
        except Exception as exc:  # surfaced by join()
            self.error = exc

    def join(self) -> None:
        """Wait for the thread and re-raise what it hit."""
        self.thread.join(timeout=30)
        if self.error:
            raise self.error


def synced(arn: str | None = None, **fields) -> dict:
    """A status with ACK.ResourceSynced=True, an optional ARN and extra fields."""
    status = {"conditions": [{"type": "ACK.ResourceSynced", "status": "True"}], **fields}
    if arn:
        status["ackResourceMetadata"] = {"arn": arn, "ownerAccountID": "123456789012", "region": "eu-west-1"}
    return status


def cond(ctype: str, message: str, status: str = "True") -> dict:
    """A status carrying one ACK condition."""
    return {"conditions": [{"type": ctype, "status": status, "message": message}]}
