"""Object lifecycles: namespace termination held by finalizers, owner cascade, dry runs,
paging, bookmarks, expired watch versions and kubectl explain."""

from __future__ import annotations

import json
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

SM = "sagemaker.services.k8s.aws"


def _model(name: str, ns: str, finalizers: list[str] | None = None) -> dict:
    """An ACK Model body."""
    meta = {"name": name, "namespace": ns}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": f"{SM}/v1alpha1", "kind": "Model", "metadata": meta,
            "spec": {"modelName": name, "executionRoleARN": "arn:aws:iam::1:role/r"}}


def test_namespace_terminates_after_finalizers_clear(cluster):
    """Namespace terminates after finalizers clear."""
    core = client.CoreV1Api(cluster.client())
    co = client.CustomObjectsApi(cluster.client())
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="doomed")))
    assert core.read_namespaced_service_account("default", "doomed")
    co.create_namespaced_custom_object(SM, "v1alpha1", "doomed", "models",
                                       _model("held", "doomed", ["ack/held"]))
    core.create_namespaced_config_map("doomed", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="plain")))
    core.delete_namespace("doomed")
    ns = core.read_namespace("doomed")
    assert ns.status.phase == "Terminating" and ns.metadata.deletion_timestamp
    assert core.list_namespaced_config_map("doomed").items == []
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("doomed", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="late")))
    assert err.value.status == 403 and "being terminated" in err.value.body
    co.patch_namespaced_custom_object(SM, "v1alpha1", "doomed", "models", "held",
                                      {"metadata": {"finalizers": []}})
    with pytest.raises(ApiException) as err:
        core.read_namespace("doomed")
    assert err.value.status == 404


def test_owner_references_cascade(cluster):
    """Owner references cascade."""
    core = client.CoreV1Api(cluster.client())
    owner = core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="owner")))
    core.create_namespaced_secret("default", client.V1Secret(metadata=client.V1ObjectMeta(
        name="owned", owner_references=[client.V1OwnerReference(
            api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)])))
    core.delete_namespaced_config_map("owner", "default")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_secret("owned", "default")
    assert err.value.status == 404


def test_dry_run_and_paging(cluster):
    """Dry run and paging."""
    core = client.CoreV1Api(cluster.client())
    core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="dry")), dry_run="All")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("dry", "default")
    for n in range(5):
        core.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"page-{n}", labels={"paged": "y"})))
    seen, token = [], None
    while True:
        page = core.list_namespaced_config_map("default", label_selector="paged=y", limit=2,
                                               _continue=token)
        seen += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"page-{n}" for n in range(5)]


def _watch_lines(cluster, query: str) -> list[dict]:
    """Read a whole (short) watch response."""
    req = urllib.request.Request(f"{cluster.url}/api/v1/namespaces/default/configmaps?{query}")
    req.add_header("Authorization", f"Bearer {cluster.token}")
    with urllib.request.urlopen(req, timeout=120) as resp:
        return [json.loads(line) for line in resp.read().splitlines() if line.strip()]


def test_watch_bookmark_and_expired_version(cluster):
    """Watch bookmark and expired version."""
    events = _watch_lines(cluster, "watch=1&timeoutSeconds=1&allowWatchBookmarks=true"
                                   "&labelSelector=none%3Dhere")
    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > 0
    # a version from this run's history resumes...
    client.CoreV1Api(cluster.client()).create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="resume-me")))
    events = _watch_lines(cluster, "watch=1&timeoutSeconds=1&resourceVersion=1"
                                   "&fieldSelector=metadata.name%3Dresume-me")
    assert [e["type"] for e in events][:1] == ["ADDED"]


def test_watch_from_before_a_restart_is_expired(tmp_path):
    """Watch from before a restart is expired."""
    from kube_helpers import start_cluster
    from wizard.sandbox.kube import KubeApiServer

    first = start_cluster(tmp_path, seed=False)
    first.server.stop()
    again = KubeApiServer(tmp_path / "data").start()
    try:
        first.url, first.token = again.url, again.admin_token
        # ...one older than the restart cannot (the history is in memory): 410, clients re-list
        events = _watch_lines(first, "watch=1&timeoutSeconds=1&resourceVersion=1")
        assert events[0]["type"] == "ERROR"
        assert events[0]["object"]["code"] == 410
        assert events[0]["object"]["reason"] == "Expired"
    finally:
        again.stop()


def test_service_account_token_secret_and_explain(cluster):
    """Service account token secret and explain."""
    core = client.CoreV1Api(cluster.client())
    core.create_namespaced_secret("kubeflow", client.V1Secret(
        metadata=client.V1ObjectMeta(name="runner-token", annotations={
            "kubernetes.io/service-account.name": "pipeline-runner"}),
        type="kubernetes.io/service-account-token"))
    secret = core.read_namespaced_secret("runner-token", "kubeflow")
    import base64

    token = base64.b64decode(secret.data["token"]).decode()
    review = client.AuthenticationV1Api(cluster.client(token)).create_self_subject_review(
        client.V1SelfSubjectReview())
    assert review.status.user_info.username == "system:serviceaccount:kubeflow:pipeline-runner"
    out = cluster.kubectl("explain", "trainingjob.spec.resourceConfig").stdout
    assert "instanceCount" in out and "KIND:       TrainingJob" in out
