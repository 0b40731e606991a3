"""A bundle taken after a real lab run in the sandbox holds the run, SageMaker and log content.

The lab is run once with ``labwiz run --sandbox --yes --skip cleanup`` (the pipeline really runs:
processing, tuning, training, the endpoint), so the SageMaker resources still exist when the
bundle is written; cleanup runs afterwards.
"""

from __future__ import annotations

import base64
import json
import re
import tarfile

import pytest

from tests.conftest import run_labwiz

pytestmark = pytest.mark.slow

SECRET_VALUE = "bundleLabSecretValue-4a8c2e"


@pytest.fixture(scope="module")
def ran_lab(tmp_path_factory):
    """A lab run up to the endpoint test; the sandbox stays up until the module is done."""
    state = tmp_path_factory.mktemp("bundle-lab-run")
    result = run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--yes", "--skip",
                         "cleanup"], timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    yield state
    run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--yes", "--only", "cleanup"],
               timeout=300)
    run_labwiz(["--state-dir", str(state), "sandbox", "down"], timeout=120)


def _members(path) -> dict[str, bytes]:
    """Every file of the archive by its name inside the bundle (top directory dropped)."""
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read()
                for m in tar.getmembers() if m.isfile()}


def test_bundle_after_a_lab_run(ran_lab, tmp_path):
    from kubernetes import client

    from wizard.bundle import read_bundle
    from wizard.clients import Clients
    from wizard.doctor.runner import doctor_target
    from wizard.state import StateStore

    state = ran_lab
    doc = StateStore(state).load()
    namespace = doc["steps"]["credentials"]["outputs"]["namespace"]
    run_id = doc["steps"]["run-monitoring"]["outputs"]["run_id"]
    endpoint = doc["steps"]["run-monitoring"]["outputs"]["endpoint_name"]
    # a Secret with a known value next to whatever the lab keeps in the namespace
    core = Clients(doctor_target(state, sandbox=True)).core_v1()
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="bundle-lab-secret"),
        string_data={"password": SECRET_VALUE}))
    try:
        proc = run_labwiz(["--state-dir", str(state), "bundle", "--sandbox", "--out",
                           str(tmp_path)], timeout=300)
    finally:
        core.delete_namespaced_secret("bundle-lab-secret", namespace)
    assert proc.returncode == 0, proc.stderr
    members = _members(proc.stdout.strip())

    # the run's details, as KFP describes the lab's run
    run = json.loads(members["kfp/run.json"])
    assert run["http_status"] == 200
    assert run["run"]["run_id"] == run_id and run["run"]["state"] == "SUCCEEDED"
    assert run["run"]["run_details"]["task_details"]

    # SageMaker descriptions: the endpoint and the jobs the pipeline ran, each non-empty
    described = {n: json.loads(d) for n, d in members.items() if n.startswith("sagemaker/")}
    assert f"sagemaker/endpoint/{endpoint}.json" in described, sorted(described)
    assert described[f"sagemaker/endpoint/{endpoint}.json"]["EndpointStatus"] == "InService"
    kinds = {n.split("/")[1] for n in described}
    assert {"training-job", "processing-job", "model", "endpoint-config"} <= kinds, kinds
    training = next(d for n, d in described.items() if n.startswith("sagemaker/training-job/"))
    assert training["TrainingJobStatus"] == "Completed" and training["ModelArtifacts"]

    # log tails: CloudWatch streams of the jobs and the endpoint, with real lines in them
    logs = {n: d.decode() for n, d in members.items() if n.startswith("logs/")}
    assert any(n.startswith("logs/training-job/") for n in logs), sorted(logs)
    assert any(n.startswith("logs/processing-job/") for n in logs), sorted(logs)
    assert f"logs/endpoint/{endpoint}.log" in logs, sorted(logs)
    for name, text in logs.items():
        lines = [line for line in text.splitlines() if line and not line.startswith("== ")]
        assert text.startswith("== /aws/sagemaker/") and lines, (name, text[:300])

    # Secrets: every value is only its length; the planted value appears nowhere
    secrets = json.loads(members["kubernetes/secrets.json"])
    planted = next(s for s in secrets if s["metadata"]["name"] == "bundle-lab-secret")
    assert planted["data"] == {"password": f"<{len(SECRET_VALUE)} bytes, value not included>"}
    for secret in secrets:
        for value in list((secret.get("data") or {}).values()) + \
                list((secret.get("stringData") or {}).values()):
            assert re.fullmatch(r"<\d+ bytes, value not included>", value), \
                (secret["metadata"]["name"], value)
    for form in (SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode()):
        assert not any(form.encode() in data for data in members.values())

    # inspect reads the same bundle
    view = read_bundle(proc.stdout.strip())
    assert view.state["steps"]["endpoint-test"]["status"] == "done"
    assert view.json("kfp/run.json")["run"]["run_id"] == run_id
