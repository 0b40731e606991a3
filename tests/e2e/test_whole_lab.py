"""The whole lab, as `make demo` runs it: an empty sandbox through all nine steps to cleaned up."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_labwiz

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished_lab(tmp_path_factory):
    """A lab run once from scratch with `labwiz run --sandbox --yes`; the sandbox stays up."""
    state = tmp_path_factory.mktemp("whole-lab")
    result = run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--yes"], timeout=900)
    yield state, result
    run_labwiz(["--state-dir", str(state), "sandbox", "down"], timeout=120)


def test_all_nine_steps_done_and_predictions_printed(finished_lab):
    state, result = finished_lab
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    doc = json.loads((state / "state.json").read_text())
    assert [doc["steps"][s]["status"] for s in doc["steps"]] == ["done"] * 9
    assert "label" in result.stdout and "cluster" in result.stdout and "purity" in result.stdout.lower()
    endpoint = doc["steps"]["endpoint-test"]["outputs"]
    assert endpoint["predictions"]["count"] > 0
    assert endpoint["purity"] > 0.3, "k-means on handwritten digits should beat chance (0.1) clearly"


def test_nothing_of_the_lab_left_after_cleanup(finished_lab):
    state, result = finished_lab
    assert result.returncode == 0
    info = json.loads((state / "sandbox" / "sandbox.json").read_text())
    doc = json.loads((state / "state.json").read_text())
    import boto3
    from kubernetes import client, config

    def aws(service):
        return boto3.client(service, endpoint_url=info["services"]["aws"]["url"],
                            region_name=info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    sm = aws("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    configuration = client.Configuration()
    config.load_kube_config(config_file=info["kubeconfig"], client_configuration=configuration)
    custom = client.CustomObjectsApi(client.ApiClient(configuration))
    for plural in ("processingjobs", "hyperparametertuningjobs", "trainingjobs", "models",
                   "endpointconfigs", "endpoints", "transformjobs"):
        items = custom.list_cluster_custom_object("sagemaker.services.k8s.aws", "v1alpha1", plural)
        assert items["items"] == [], plural
    iam = aws("iam")
    created = {row["name"] for row in doc["ledger"] if row["kind"] in ("iam-role", "iam-user")}
    assert created, "the lab should have created IAM entities"
    existing = {r["RoleName"] for r in iam.list_roles()["Roles"]} | \
               {u["UserName"] for u in iam.list_users()["Users"]}
    assert not created & existing
    # what the lab account had before the lab is still there
    assert "SageMakerExecutionRole" in existing
    aws("s3").head_bucket(Bucket=info["bucket"])
    assert all(row["deleted_at"] for row in doc["ledger"]), "every ledger row is marked deleted"
