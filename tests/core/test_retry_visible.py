"""Kubernetes and KFP calls made through labwiz's clients retry throttling and 5xx answers, and
say so; against the sandbox's own API servers with their transient faults switched on."""

from __future__ import annotations

import pytest

from wizard.clients import Clients
from wizard.retry import reporting_retry
from wizard.target import Target


@pytest.fixture()
def faults_dir(tmp_path):
    """A sandbox directory whose fault file the servers read on every call."""
    return tmp_path / "sandbox"


def _set(faults_dir, *specs):
    from wizard.sandbox import faults

    faults.write(faults_dir, [faults.parse(s) for s in specs])


def test_kubernetes_calls_retry_503_and_say_so(faults_dir, tmp_path):
    from wizard.sandbox import faults
    from wizard.sandbox.kube import KubeApiServer, write_kubeconfig

    _set(faults_dir, "kube-5xx=0.5")  # every second call answers 503 with Retry-After: 1
    server = KubeApiServer(faults_dir / "kube", faults=faults.Faults(faults_dir)).start()
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, server.admin_token)
        heard: list[str] = []
        clients = Clients(Target(mode="sandbox", kubeconfig=kubeconfig), notify=heard.append)
        core = clients.core_v1()
        for _ in range(3):
            names = {ns.metadata.name for ns in core.list_namespace().items}
            assert "default" in names
        # a create (POST) is repeated after 503: the server says it did not act on it
        core.create_namespace({"metadata": {"name": "retried"}})
        core.create_namespace({"metadata": {"name": "retried-too"}})
        assert core.read_namespace("retried").metadata.name == "retried"
        assert heard, "no retry was reported"
        assert any(line.startswith("Kubernetes GET /api/v1/namespaces: 503, retrying in 1.0 s")
                   for line in heard), heard
        assert any(line.startswith("Kubernetes POST /api/v1/namespaces: 503") for line in heard)
    finally:
        server.stop()


def test_kfp_calls_retry_503_and_say_so(faults_dir):
    from wizard.sandbox import faults
    from wizard.sandbox.kfp_api import KfpApiServer

    _set(faults_dir, "kfp-5xx=0.5")
    server = KfpApiServer(faults_dir / "kfp", faults=faults.Faults(faults_dir)).start()
    try:
        heard: list[str] = []
        clients = Clients(Target(mode="sandbox", kfp_host=server.url, namespace="lab"),
                          notify=heard.append)
        client = clients.kfp
        for _ in range(4):
            client.list_experiments()
        made = client.create_experiment("retried", namespace="lab")
        assert client.get_experiment(experiment_id=made.experiment_id).display_name == "retried"
        assert any(line.startswith("Kubeflow Pipelines GET /apis/v2beta1/experiments: 503")
                   for line in heard), heard
        assert all("retry" in line and " of 6)" in line for line in heard)
    finally:
        server.stop()


def test_retries_are_bounded_and_the_last_answer_is_the_error(tmp_path):
    """A server that always answers 503: the client gives up after its retries, with the 503."""
    import http.server
    import threading

    from kubernetes.client.exceptions import ApiException

    from wizard.sandbox.kube import write_kubeconfig

    class Unavailable(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        heard: list[str] = []
        clients = Clients(Target(mode="sandbox", kubeconfig=write_kubeconfig(
            tmp_path / "kc", url, "token")), notify=heard.append, http_retries=2)
        with pytest.raises(ApiException) as err:
            clients.core_v1().list_namespace()
        assert err.value.status == 503
        assert [line[-14:] for line in heard] == ["(retry 1 of 2)", "(retry 2 of 2)"], heard
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("method,status,again", [
    ("GET", 500, True), ("GET", 502, True), ("GET", 429, True), ("GET", 404, False),
    ("POST", 503, True), ("POST", 429, True), ("POST", 500, False), ("POST", 502, False),
    ("POST", 504, False), ("PATCH", 500, False), ("DELETE", 503, True), ("PUT", 500, True),
])
def test_changing_requests_are_repeated_only_when_the_server_did_not_act(method, status, again):
    """A POST after a 500/502/504 might have been done already (a second run would start)."""
    assert reporting_retry("x", None).is_retry(method, status) is again


def test_kube_and_kube_once_load_the_kubeconfig_once(tmp_path):
    """The retrying client and the ask-once client share one kubeconfig load: with exec
    authentication (EKS's `aws eks get-token`) the command runs once, and both clients answer
    with its token; each keeps its own retry setting."""
    import json
    import stat
    import sys

    import yaml

    from wizard.sandbox import faults
    from wizard.sandbox.kube import KubeApiServer, write_kubeconfig

    server = KubeApiServer(tmp_path / "kube", faults=faults.Faults(tmp_path)).start()
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kc", server.url, server.admin_token)
        runs = tmp_path / "runs"
        helper = tmp_path / "get-token"
        credential = {"apiVersion": "client.authentication.k8s.io/v1beta1",
                      "kind": "ExecCredential", "status": {"token": server.admin_token}}
        helper.write_text(f"#!{sys.executable}\n"
                          f"open({str(runs)!r}, 'a').write('ran\\n')\n"
                          f"print({json.dumps(json.dumps(credential))})\n")
        helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
        doc = yaml.safe_load(kubeconfig.read_text())
        doc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                            "command": str(helper), "args": [],
                                            "interactiveMode": "Never"}}
        kubeconfig.write_text(yaml.safe_dump(doc))
        clients = Clients(Target(mode="sandbox", kubeconfig=kubeconfig))
        assert "default" in {ns.metadata.name for ns in clients.core_v1().list_namespace().items}
        assert "default" in {ns.metadata.name
                             for ns in clients.core_v1(once=True).list_namespace().items}
        assert runs.read_text().splitlines() == ["ran"]
        assert clients.kube_once.configuration.retries == 0
        assert clients.kube.configuration.retries != 0
    finally:
        server.stop()
