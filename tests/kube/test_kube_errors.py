"""Bad input gets a proper Status (and the server keeps answering): malformed bodies, unknown
kinds, invalid custom resources, stale resourceVersions, wrong verbs, a taken port, garbage on
the socket and injected transient faults."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from kube_helpers import PROFILE


def call(cluster, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json", token: str | None = None):
    """A raw HTTP call; returns (code, parsed JSON body, headers)."""
    req = urllib.request.Request(cluster.url + path, data=body, method=method)
    req.add_header("Content-Type", content_type)
    tok = cluster.token if token is None else token
    if tok:
        req.add_header("Authorization", f"Bearer {tok}")
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read() or b"null"), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers


def assert_status(body: dict, code: int, reason: str) -> None:
    """A well-formed failure Status."""
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == code and body["reason"] == reason
    assert body["message"]


def test_still_answering_after_each_bad_request(cluster):
    """Still answering after each bad request."""
    cms = f"/api/v1/namespaces/{PROFILE}/configmaps"
    cases = [
        ("POST", cms, b'{"metadata": {"name": ', "application/json", 400, "BadRequest"),
        ("POST", cms, b"metadata: [unclosed", "application/yaml", 400, "BadRequest"),
        ("POST", cms, b"[1, 2]", "application/json", 400, "BadRequest"),
        ("POST", cms, b"", "application/json", 400, "BadRequest"),
        ("POST", cms, b'{"kind": "Secret", "metadata": {"name": "x"}}', "application/json",
         400, "BadRequest"),
        ("GET", "/api/v1/flurbles", None, "application/json", 404, "NotFound"),
        ("GET", "/apis/nope.example.com/v1/things", None, "application/json", 404, "NotFound"),
        ("GET", f"{cms}/does-not-exist", None, "application/json", 404, "NotFound"),
        ("PUT", cms, b"{}", "application/json", 405, "MethodNotAllowed"),
        ("PATCH", f"{cms}/x", b"{}", "text/plain", 404, "NotFound"),
        ("POST", "/api/v1/namespaces/no-such-ns/configmaps",
         b'{"metadata": {"name": "a"}}', "application/json", 404, "NotFound"),
        ("POST", cms, b'{"metadata": {"name": "Bad_Name"}}', "application/json", 422,
         "Invalid"),
        ("GET", f"{cms}?labelSelector=a%20in%20(", None, "application/json", 400,
         "BadRequest"),
        ("GET", "/api/v1/namespaces", None, "application/json", 401, "Unauthorized"),
    ]
    for method, path, body, ctype, code, reason in cases:
        token = "" if code == 401 else None
        got, doc, _ = call(cluster, method, path, body, ctype, token)
        assert got == code, (method, path, doc)
        assert_status(doc, code, reason)
        ok, _, _ = call(cluster, "GET", "/api/v1/namespaces")
        assert ok == 200
    code, doc, _ = call(cluster, "POST", cms, b"metadata:\n  name: from-yaml\n",
                        "application/yaml")
    assert code == 201 and doc["metadata"]["name"] == "from-yaml"


def test_unsupported_patch_type_and_strategic_on_custom_resources(cluster):
    """Unsupported patch type and strategic on custom resources."""
    code, doc, _ = call(cluster, "POST", f"/api/v1/namespaces/{PROFILE}/configmaps",
                        b'{"metadata": {"name": "p"}}')
    assert code == 201
    code, doc, _ = call(cluster, "PATCH", f"/api/v1/namespaces/{PROFILE}/configmaps/p",
                        b"{}", "text/plain")
    assert code == 415 and doc["reason"] == "UnsupportedMediaType"
    code, doc, _ = call(cluster, "PATCH", f"/api/v1/namespaces/{PROFILE}/configmaps/p",
                        b'[{"op": "remove", "path": "/data/none"}]',
                        "application/json-patch+json")
    assert code == 422 and doc["reason"] == "Invalid"


def test_invalid_custom_resources_name_their_fields(cluster):
    """Invalid custom resources name their fields."""
    path = f"/apis/sagemaker.services.k8s.aws/v1alpha1/namespaces/{PROFILE}/endpoints"
    body = {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Endpoint",
            "metadata": {"name": "ep"}, "spec": {"tags": [{"key": 5}]}}
    code, doc, _ = call(cluster, "POST", path, json.dumps(body).encode())
    assert code == 422
    assert_status(doc, 422, "Invalid")
    fields = {c["field"]: c["message"] for c in doc["details"]["causes"]}
    assert fields["spec.endpointName"] == "Required value"
    assert fields["spec.endpointConfigName"] == "Required value"
    assert "must be of type string" in fields["spec.tags[0].key"]
    assert doc["message"].startswith('Endpoint.sagemaker.services.k8s.aws "ep" is invalid: [')


def test_stale_resource_version_conflicts(cluster):
    """Stale resource version conflicts."""
    path = f"/api/v1/namespaces/{PROFILE}/configmaps"
    code, cm, _ = call(cluster, "POST", path, b'{"metadata": {"name": "rv"}}')
    assert code == 201
    cm["data"] = {"a": "1"}
    code, newer, _ = call(cluster, "PUT", f"{path}/rv", json.dumps(cm).encode())
    assert code == 200 and int(newer["metadata"]["resourceVersion"]) > int(
        cm["metadata"]["resourceVersion"])
    code, doc, _ = call(cluster, "PUT", f"{path}/rv", json.dumps(cm).encode())
    assert code == 409
    assert_status(doc, 409, "Conflict")
    assert "the object has been modified" in doc["message"]


def test_garbage_on_the_socket_does_not_hurt(cluster):
    """Garbage on the socket does not hurt."""
    host, port = cluster.url.rsplit("//", 1)[1].split(":")
    for junk in (b"\x00\xff garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01junk"):
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(junk)
            try:
                sock.recv(1024)
            except OSError:
                pass
    code, _, _ = call(cluster, "GET", "/version")
    assert code == 200


def test_port_already_taken_is_a_clear_error(cluster, tmp_path):
    """Port already taken is a clear error."""
    from wizard.sandbox.kube import KubeApiServer, KubeServerError

    port = int(cluster.url.rsplit(":", 1)[1])
    with pytest.raises(KubeServerError) as err:
        KubeApiServer(tmp_path / "other", port=port).start()
    assert f"port {port}" in str(err.value) and "already in use" in str(err.value)
    assert cluster.server.healthy()


def test_transient_faults_answer_503_with_retry_after(tmp_path):
    """Transient faults answer 503 with retry after."""
    from wizard.sandbox import faults as faultlib
    from wizard.sandbox.kube import KubeApiServer

    sandbox = tmp_path / "sandbox"
    faultlib.write(sandbox, [faultlib.parse("kube-5xx=0.5")])
    server = KubeApiServer(sandbox / "kube", faults=faultlib.Faults(sandbox)).start()
    try:
        assert server.healthy()  # /healthz is never failed
        codes = []
        for _ in range(6):
            req = urllib.request.Request(server.url + "/api/v1/namespaces")
            req.add_header("Authorization", f"Bearer {server.admin_token}")
            try:
                with urllib.request.urlopen(req, timeout=120) as resp:
                    codes.append(resp.status)
            except urllib.error.HTTPError as err:
                codes.append(err.code)
                assert err.headers["Retry-After"] == "1"
                assert_status(json.loads(err.read()), 503, "ServiceUnavailable")
        assert codes.count(503) == 3 and codes.count(200) == 3
        # kubectl honours Retry-After and gets through
        from wizard.sandbox.kube import write_kubeconfig
        import os
        import subprocess

        cfg = write_kubeconfig(tmp_path / "kc", server.url, server.admin_token)
        env = dict(os.environ, KUBECONFIG=str(cfg), HOME=str(tmp_path))
        out = subprocess.run(["kubectl", "get", "ns", "default", "-o", "name"],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "namespace/default", out.stderr
    finally:
        server.stop()
