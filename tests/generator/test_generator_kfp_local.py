"""Generated components run under kfp.local (SubprocessRunner, no venv) against the sandbox API server.

The pip step KFP puts in front of every lightweight component must be a no-op
offline: PIP_INDEX_URL points at a closed loopback port, so any download fails.
"""
from __future__ import annotations

import json

import pytest

from generator_helpers import CRD_DIR, Controller, cond, start_kube, synced
from wizard.generator.core import generate
from wizard.generator.crds import load_crds_from_path

NS = "kubeflow-user-example-com"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """The sandbox API server, and kfp.local set up to run tasks as local subprocesses."""
    from kfp import local
    data = tmp_path_factory.mktemp("kfp-local")
    server, kubeconfig, api = start_kube(data, plurals=("models", "endpoints"))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(data / "root"),
               raise_on_error=True)
    yield api, kubeconfig, data
    server.stop()


@pytest.fixture()
def offline_env(sandbox, monkeypatch):
    """KUBECONFIG for the task's subprocess, and a package index nobody answers."""
    _api, kubeconfig, _data = sandbox
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")


def _component(data, plural):
    """Generate and load the component for one CRD."""
    [crd] = load_crds_from_path(CRD_DIR / f"sagemaker.services.k8s.aws_{plural}.yaml")
    return generate(crd, data / "components").load()


def test_model_component_runs_offline_under_kfp_local(sandbox, offline_env):
    """The Model component creates the CR in the context's namespace and returns the ARN once synced."""
    api, _kubeconfig, data = sandbox
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model/kmeans-mnist"
    ctl = Controller(api, "models", NS, "kmeans-mnist", [synced(arn)], gap=0.5)
    task = _component(data, "models")(
        model_name="kmeans-mnist", execution_role_arn="arn:aws:iam::123456789012:role/sm",
        primary_container={"image": "kmeans:1", "modelDataURL": "s3://b/model.tar.gz"},
        poll_interval_seconds=1, timeout_seconds=60)
    ctl.join()
    assert task.outputs["ack_resource_arn"] == arn and task.outputs["resource_name"] == "kmeans-mnist"
    assert json.loads(task.outputs["conditions"])[0]["status"] == "True"
    from kubernetes import client
    stored = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "sagemaker.services.k8s.aws", "v1alpha1", NS, "models", "kmeans-mnist")
    assert stored["spec"]["executionRoleARN"] == "arn:aws:iam::123456789012:role/sm"
    assert stored["spec"]["primaryContainer"]["modelDataURL"] == "s3://b/model.tar.gz"


def test_endpoint_terminal_condition_fails_the_task(sandbox, offline_env, capfd):
    """ACK.Terminal makes the task fail, and the log's last line says why."""
    api, _kubeconfig, data = sandbox
    ctl = Controller(api, "endpoints", NS, "kmeans-endpoint",
                     [cond("ACK.Terminal", "ResourceLimitExceeded: account-level service limit")], gap=0.5)
    with pytest.raises(RuntimeError):
        _component(data, "endpoints")(endpoint_name="kmeans-endpoint", endpoint_config_name="kmeans-config",
                                      poll_interval_seconds=1, timeout_seconds=60)
    ctl.join()
    captured = capfd.readouterr()
    out = captured.out + captured.err
    assert "ERROR: kmeans-endpoint failed: ACK.Terminal: ResourceLimitExceeded" in out
    # the exception that ends the step carries the same message: it is what KFP shows as the error
    raised = [line.strip() for line in out.splitlines()
              if line.strip().startswith("ack_component_runtime.ComponentError: ")]
    assert raised and "kmeans-endpoint failed: ACK.Terminal: ResourceLimitExceeded" in raised[-1], out[-3000:]
