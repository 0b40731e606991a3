"""Step 8 (endpoint-test) against a real sandbox endpoint served from ACK custom resources."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.endpoint_cleanup import endpoint_cleanup_stage as stage
from tests.steps.conftest import run_lab, state
from wizard.kmeans_images import kmeans_image_uri

FIRST_TWO = ("--only", "credentials,data-upload")


@pytest.fixture(scope="module")
def staged(tmp_path_factory, sandbox_home):
    """Steps 1–2 done for real once, a k-means model in S3 and an InService-bound endpoint
    (ACK custom resources labelled with the lab's lineage), recorded as the run's output."""
    from kubernetes import client, config

    import boto3

    sandbox_info = json.loads((sandbox_home / "sandbox" / "sandbox.json").read_text())
    lab = tmp_path_factory.mktemp("staged") / "lab"
    lab.mkdir(mode=0o700)
    os.symlink(sandbox_home / "sandbox", lab / "sandbox")
    result = run_lab(lab, *FIRST_TWO)
    assert result.returncode == 0, result.stdout + result.stderr
    configuration = client.Configuration()
    config.load_kube_config(config_file=sandbox_info["kubeconfig"], client_configuration=configuration)
    kube = client.ApiClient(configuration)

    def aws(service):
        """A boto3 client on the sandbox."""
        return boto3.client(service, endpoint_url=sandbox_info["services"]["aws"]["url"],
                            region_name=sandbox_info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    doc = state(lab)
    creds, bucket = doc["steps"]["credentials"]["outputs"], doc["steps"]["data-upload"]["outputs"]["bucket"]
    uri = stage.put_model(aws, lab, bucket, key="lab1/output/ec-job/output/model.tar.gz")
    image = kmeans_image_uri(sandbox_info["region"])
    resources = stage.create_endpoint_crs(kube, creds["namespace"], "ec-ok",
                                          creds["execution_role_arn"], uri, image, doc["lineage"])
    stage.finish_run_monitoring(lab, "ec-ok", uri, resources)
    return {"lab": lab, "creds": creds, "uri": uri, "image": image, "kube": kube}


def _copy(staged, lab):
    """This test's lab: a copy of the staged lab's state and cached data."""
    shutil.copy2(staged["lab"] / "state.json", lab / "state.json")
    shutil.copytree(staged["lab"] / "data", lab / "data")


def _faults(sandbox_home, *specs):
    """Set the sandbox's faults (none clears them)."""
    from tests.conftest import run_labwiz

    argv = ["--state-dir", str(sandbox_home), "sandbox", "fail", *(specs or ("--clear",))]
    result = run_labwiz(argv, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_predictions_and_purity_table(lab, staged):
    """A real endpoint answers 200 digits; pictures, table and purity are shown."""
    _copy(staged, lab)
    result = run_lab(lab, "--only", "endpoint-test")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "aws sagemaker-runtime invoke-endpoint --endpoint-name ec-ok --content-type text/csv" in out
    assert "Endpoint ec-ok: InService" in out
    assert "Over 200 test digits, each cluster → the digit it mostly holds" in out
    assert "label " in out and "cluster " in out  # the digit pictures' captions
    outputs = state(lab)["steps"]["endpoint-test"]["outputs"]
    assert outputs["endpoint_name"] == "ec-ok"
    assert outputs["predictions"]["count"] == 200
    # a real k-means on these digits groups them far better than chance (0.1)
    assert outputs["purity"] > 0.5
    assert all(0 <= p["cluster"] < 10 and p["distance"] > 0
               for p in outputs["predictions"]["sample"])
    # the saved sample digit is what the printed command sends
    assert len((lab / "data" / "digit.csv").read_text().strip().split(",")) == 784
    # verified afterwards: running again keeps the result
    again = run_lab(lab, "--only", "endpoint-test")
    assert again.returncode == 0 and "still verified" in again.stdout


def test_invoke_denied_is_explained(lab, staged, sandbox_home):
    """InvokeEndpoint denied: a clear error naming the permission."""
    _copy(staged, lab)
    _faults(sandbox_home, "invoke=AccessDenied")
    try:
        result = run_lab(lab, "--only", "endpoint-test")
    finally:
        _faults(sandbox_home)
    assert result.returncode == 1  # the step fails: the invoke is denied
    error = state(lab)["steps"]["endpoint-test"]["error"]
    assert "may not invoke the endpoint ec-ok" in error["message"]
    assert "sagemaker:InvokeEndpoint" in error["remediation"]
    assert "Traceback" not in result.stdout + result.stderr


def test_endpoint_failing_shows_sagemakers_reason(lab, staged, sandbox_home):
    """An endpoint that fails: SageMaker's reason in the error."""
    _copy(staged, lab)
    _faults(sandbox_home, "endpoint=FailedToReachInService")
    try:
        resources = stage.create_endpoint_crs(staged["kube"], staged["creds"]["namespace"],
                                              "ec-failed", staged["creds"]["execution_role_arn"],
                                              staged["uri"], staged["image"])
        stage.finish_run_monitoring(lab, "ec-failed", staged["uri"], resources)
        result = run_lab(lab, "--only", "endpoint-test")
    finally:
        _faults(sandbox_home)
    assert result.returncode == 1  # the step fails: the endpoint failed
    error = state(lab)["steps"]["endpoint-test"]["error"]
    assert "The endpoint ec-failed is Failed" in error["message"]
    assert "did not pass the ping health check" in error["message"]
    assert "aws logs tail /aws/sagemaker/Endpoints/ec-failed" in error["remediation"]


def test_endpoint_found_from_custom_resource(lab, staged):
    """Without the run's outputs, the lab's own Endpoint custom resource is found and used."""
    _copy(staged, lab)
    from wizard.state import StateStore

    store = StateStore(lab)
    doc = store.load()
    doc["steps"]["run-monitoring"]["outputs"].pop("endpoint_name")
    store.save(doc)
    result = run_lab(lab, "--only", "endpoint-test", answers={"test_digits": 20})
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = state(lab)["steps"]["endpoint-test"]["outputs"]
    assert outputs["predictions"]["count"] == 20
    assert outputs["endpoint_name"] == "ec-ok"
    assert json.dumps(outputs)  # plain JSON, no secrets or objects


def test_bad_digit_count_is_refused(lab, staged):
    """A digit count that is not a number is refused with what to give."""
    _copy(staged, lab)
    result = run_lab(lab, "--only", "endpoint-test", answers={"test_digits": "lots"})
    assert result.returncode == 2  # refused before the step starts
    assert "'lots' is not a whole number of digits" in result.stdout + result.stderr
    assert "Give a number from 1 to 1000" in result.stdout + result.stderr
