"""The deployments' ``scale`` subresource, through the real kubectl and raw HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

NS, DEP = "ack-system", "ack-sagemaker-controller"


def _call(cluster, method: str, path: str, body=None, content_type="application/json",
          token: str | None = None):
    """One raw request (as the admin unless ``token``); returns (code, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(cluster.url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token or cluster.token}")
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_kubectl_scale_changes_spec_replicas_and_bumps_generation(cluster):
    before = cluster.kubectl_json("get", "deployment", DEP, "-n", NS)
    out = cluster.kubectl("scale", f"deployment/{DEP}", "-n", NS, "--replicas=0")
    assert "scaled" in out.stdout
    after = cluster.kubectl_json("get", "deployment", DEP, "-n", NS)
    assert after["spec"]["replicas"] == 0
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    # the server does not run pods: status is left to whoever plays the controller
    assert after["status"] == before["status"]
    cluster.kubectl("scale", f"deployment/{DEP}", "-n", NS, "--replicas=1")
    assert cluster.kubectl_json("get", "deployment", DEP, "-n", NS)["spec"]["replicas"] == 1


def test_kubectl_scale_with_a_stale_current_replicas_precondition_fails(cluster):
    proc = cluster.kubectl("scale", f"deployment/{DEP}", "-n", NS, "--current-replicas=5",
                           "--replicas=2", check=False)
    assert proc.returncode == 1  # kubectl's exit code for a refused request
    assert "Expected replicas to be 5, was 1" in proc.stderr
    assert cluster.kubectl_json("get", "deployment", DEP, "-n", NS)["spec"]["replicas"] == 1


def test_scale_get_put_patch_over_http(cluster):
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/{DEP}/scale"
    code, scale = _call(cluster, "GET", path)
    assert code == 200
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"]["replicas"] == 1
    assert scale["status"]["selector"] == ("app.kubernetes.io/instance=ack-sagemaker-controller,"
                                           "app.kubernetes.io/name=ack-sagemaker-controller")
    code, put = _call(cluster, "PUT", path, dict(scale, spec={"replicas": 3}))
    assert code == 200 and put["spec"]["replicas"] == 3
    # a PUT carrying the old resourceVersion is a conflict, as for the object itself
    code, err = _call(cluster, "PUT", path, dict(scale, spec={"replicas": 2}))
    assert code == 409 and err["reason"] == "Conflict"
    code, patched = _call(cluster, "PATCH", path, {"spec": {"replicas": 1}},
                          "application/merge-patch+json")
    assert code == 200 and patched["spec"]["replicas"] == 1
    code, err = _call(cluster, "PATCH", path, {"spec": {"replicas": -1}},
                      "application/merge-patch+json")
    assert code == 422 and "spec.replicas" in err["message"]
    code, err = _call(cluster, "POST", path, scale)
    assert code == 405


@pytest.mark.parametrize("plural", ["deployments", "replicasets"])
def test_discovery_lists_the_scale_subresource(cluster, plural):
    code, doc = _call(cluster, "GET", "/apis/apps/v1")
    entry = {r["name"]: r for r in doc["resources"]}[f"{plural}/scale"]
    assert (entry["group"], entry["version"], entry["kind"]) == ("autoscaling", "v1", "Scale")


def test_scale_needs_rbac_on_the_subresource(cluster):
    # default-editor's kubeflow-edit role covers its own namespace, not ack-system
    token = cluster.kubectl("create", "token", "default-editor", "-n",
                            "kubeflow-user-example-com").stdout.strip()
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/{DEP}/scale"
    code, err = _call(cluster, "PATCH", path, {"spec": {"replicas": 0}},
                      "application/merge-patch+json", token=token)
    assert code == 403
    assert 'cannot patch resource "deployments/scale" in API group "apps"' in err["message"]
    assert cluster.kubectl_json("get", "deployment", DEP, "-n", NS)["spec"]["replicas"] == 1
