"""Step 8 (endpoint-test) against a real sandbox endpoint served from ACK custom resources."""

from __future__ import annotations

import json

from tests.endpoint_cleanup import endpoint_cleanup_stage as stage
from tests.steps.conftest import run_lab, state
from wizard.kmeans_images import kmeans_image_uri

FIRST_TWO = ("--only", "credentials,data-upload")


def _stage(lab, aws, kube, sandbox_info, name: str) -> dict:
    """Steps 1–2 for real, then an endpoint from custom resources, recorded as the run's output."""
    result = run_lab(lab, *FIRST_TWO)
    assert result.returncode == 0, result.stdout + result.stderr
    creds = state(lab)["steps"]["credentials"]["outputs"]
    bucket = state(lab)["steps"]["data-upload"]["outputs"]["bucket"]
    uri = stage.put_model(aws, lab, bucket, key=f"lab1/output/{name}/model.tar.gz")
    resources = stage.create_endpoint_crs(kube, creds["namespace"], name,
                                          creds["execution_role_arn"], uri,
                                          kmeans_image_uri(sandbox_info["region"]))
    stage.finish_run_monitoring(lab, name, uri, resources)
    return creds


def _faults(sandbox_home, *specs):
    from tests.conftest import run_labwiz

    argv = ["--state-dir", str(sandbox_home), "sandbox", "fail", *(specs or ("--clear",))]
    result = run_labwiz(argv, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_predictions_and_purity_table(lab, aws, kube, sandbox_info):
    _stage(lab, aws, kube, sandbox_info, "ec-ok")
    result = run_lab(lab, "--only", "endpoint-test")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "aws sagemaker-runtime invoke-endpoint --endpoint-name ec-ok --content-type text/csv" in out
    assert "Endpoint ec-ok: InService" in out
    assert "Cluster vs true label over 200 test digits" in out
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


def test_invoke_denied_is_explained(lab, aws, kube, sandbox_info, sandbox_home):
    _stage(lab, aws, kube, sandbox_info, "ec-denied")
    _faults(sandbox_home, "invoke=AccessDenied")
    try:
        result = run_lab(lab, "--only", "endpoint-test")
    finally:
        _faults(sandbox_home)
    assert result.returncode != 0
    error = state(lab)["steps"]["endpoint-test"]["error"]
    assert "may not invoke the endpoint ec-denied" in error["message"]
    assert "sagemaker:InvokeEndpoint" in error["remediation"]
    assert "Traceback" not in result.stdout + result.stderr


def test_endpoint_failing_shows_sagemakers_reason(lab, aws, kube, sandbox_info, sandbox_home):
    _faults(sandbox_home, "endpoint=FailedToReachInService")
    try:
        _stage(lab, aws, kube, sandbox_info, "ec-failed")
        result = run_lab(lab, "--only", "endpoint-test")
    finally:
        _faults(sandbox_home)
    assert result.returncode != 0
    error = state(lab)["steps"]["endpoint-test"]["error"]
    assert "The endpoint ec-failed is Failed" in error["message"]
    assert "did not pass the ping health check" in error["message"]
    assert "aws logs tail /aws/sagemaker/Endpoints/ec-failed" in error["remediation"]


def test_endpoint_found_from_custom_resource(lab, aws, kube, sandbox_info):
    """Without the run's outputs, the Endpoint custom resource in the namespace is used."""
    _stage(lab, aws, kube, sandbox_info, "ec-found")
    from wizard.state import StateStore

    store = StateStore(lab)
    doc = store.load()
    doc["steps"]["run-monitoring"]["outputs"].pop("endpoint_name")
    store.save(doc)
    result = run_lab(lab, "--only", "endpoint-test", "--answers-json-unused") if False else \
        run_lab(lab, "--only", "endpoint-test", answers={"test_digits": 20})
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = state(lab)["steps"]["endpoint-test"]["outputs"]
    assert outputs["predictions"]["count"] == 20
    assert json.dumps(outputs)  # plain JSON, no secrets or objects
