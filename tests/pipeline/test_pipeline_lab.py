"""Steps 5–7 against a real sandbox: compile, upload (idempotent, versions, errors), a run
that survives a SIGKILL of the wizard and ends with an InService endpoint, and a support bundle
taken after it.

One sandbox and one lab for the module (the tests run in order and build on each other), so
the whole lab runs once.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, labwiz_env, run_labwiz
from tests.steps.conftest import run_lab, sandbox_home, sandbox_info, state  # noqa: F401

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def lab(sandbox_home, tmp_path_factory):  # noqa: F811 - the shared fixture, module-scoped
    """One lab for the module, attached to the module's sandbox."""
    state_dir = tmp_path_factory.mktemp("pipeline-lab") / "lab"
    state_dir.mkdir(mode=0o700)
    os.symlink(sandbox_home / "sandbox", state_dir / "sandbox")
    return state_dir


def _kfp(sandbox_info):  # noqa: F811
    """A kfp.Client on the sandbox."""
    import kfp

    return kfp.Client(host=sandbox_info["services"]["kfp"]["url"])


def _versions(client, pipeline_id):
    """Every version of a pipeline."""
    return client.list_pipeline_versions(pipeline_id, page_size=100).pipeline_versions or []


def test_compile_and_upload_are_idempotent(lab, sandbox_info):  # noqa: F811
    """Steps 1–6, then compile and upload again: one pipeline, one version, one S3 copy."""
    result = run_lab(lab, "--skip", "run-monitoring,endpoint-test,cleanup", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = state(lab)
    compiled, up = doc["steps"]["compile"]["outputs"], doc["steps"]["upload"]["outputs"]
    assert compiled["package_s3_uri"].endswith("lab1/pipeline/mnist_classification_pipeline.tar.gz")
    assert Path(compiled["package_path"]).is_file()
    again = run_lab(lab, "--from", "compile", "--only", "compile,upload", timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "not uploading it again" in again.stdout
    assert state(lab)["steps"]["upload"]["outputs"]["version_id"] == up["version_id"]
    client = _kfp(sandbox_info)
    names = [p.display_name for p in client.list_pipelines(page_size=100).pipelines or []]
    assert names.count("mnist-classification-pipeline") == 1
    assert len(_versions(client, up["pipeline_id"])) == 1
    kinds = {r["kind"] for r in state(lab)["ledger"]}
    assert {"kfp-pipeline", "kfp-pipeline-version", "kfp-experiment"} <= kinds


def test_changed_content_becomes_a_new_version(lab, sandbox_info, tmp_path):  # noqa: F811
    """A package with other content is uploaded as a second version of the same pipeline."""
    from wizard.kfp_ops import package, publish

    up = state(lab)["steps"]["upload"]["outputs"]
    compiled = Path(state(lab)["steps"]["compile"]["outputs"]["yaml_path"])
    changed = tmp_path / "changed.yaml"
    changed.write_text(compiled.read_text().replace("MNIST classification with k-means",
                                                    "MNIST k-means (changed)", 1))
    client = _kfp(sandbox_info)
    sha = package.sha256_file(changed)
    first = publish.publish(client, str(changed), up["pipeline_name"], sha, "changed")
    second = publish.publish(client, str(changed), up["pipeline_name"], sha, "changed")
    assert first.pipeline_id == up["pipeline_id"] and first.created_version
    assert second.version_id == first.version_id and not second.created_version
    assert len(_versions(client, up["pipeline_id"])) == 2


def test_bad_host_and_non_pipeline_file(lab, tmp_path):
    """An unreachable host and a file that is not a pipeline fail with what to do next."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"kfp_host": "http://127.0.0.1:9"}))
    bad = run_lab(lab, "--from", "upload", "--only", "upload", "--answers", str(answers),
                  timeout=120)
    assert bad.returncode == 5  # the step starts and cannot reach the host: a service is unusable
    assert "not reachable at http://127.0.0.1:9" in bad.stdout + bad.stderr
    notes = tmp_path / "notes.yaml"
    notes.write_text("just: notes\n")
    answers.write_text(json.dumps({"package_path": str(notes)}))
    wrong = run_lab(lab, "--from", "upload", "--only", "upload", "--answers", str(answers),
                    timeout=120)
    assert wrong.returncode == 2  # the answer is refused before the step starts
    assert "not a KFP v2 pipeline package" in wrong.stdout + wrong.stderr
    # refused before it was kept: the next run asks again instead of failing the same way
    assert "package_path" not in state(lab).get("inputs", {})


def test_rejected_token(tmp_path):
    """A KFP that requires a token answers 401 to a wrong one: the error names the cure."""
    import kfp

    from wizard.errors import InputError
    from wizard.kfp_ops import publish
    from wizard.sandbox.kfp_api import KfpApiServer

    server = KfpApiServer(tmp_path / "kfp", auth_token="right-token")
    server.start()
    try:
        client = kfp.Client(host=server.url, existing_token="wrong-token")
        with pytest.raises(InputError, match="refused the credentials") as info:
            publish.find_pipeline_id(client, "mnist-classification-pipeline")
        assert "authservice_session" in info.value.remediation
        good = kfp.Client(host=server.url, existing_token="right-token")
        assert publish.find_pipeline_id(good, "mnist-classification-pipeline") is None
    finally:
        server.stop()


def _ledger_runs(lab):
    """The lab's kfp-run ledger rows."""
    return [r for r in state(lab).get("ledger", []) if r["kind"] == "kfp-run"]


def test_run_survives_sigkill_and_reaches_inservice(lab, sandbox_info, aws_client):  # noqa: F811
    """Kill the wizard mid-run, resume: it re-attaches (one run in KFP) and the run completes
    with an InService endpoint."""
    argv = [sys.executable, "-m", "wizard", "--state-dir", str(lab), "run", "--sandbox", "--yes",
            "--only", "run-monitoring"]
    proc = subprocess.Popen(argv, env=labwiz_env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
                r["kind"] == "custom-resource" for r in state(lab).get("ledger", [])):
            assert proc.poll() is None, "the wizard ended before any resource existed"
            time.sleep(0.3)
        assert _ledger_runs(lab), "the run was not written to the ledger"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    run_id = _ledger_runs(lab)[-1]["name"]
    resumed = run_lab(lab, "--only", "run-monitoring", timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert "Re-attaching to run" in resumed.stdout
    outputs = state(lab)["steps"]["run-monitoring"]["outputs"]
    assert outputs["run_id"] == run_id and outputs["run_state"] == "SUCCEEDED"
    client = _kfp(sandbox_info)
    experiment = state(lab)["steps"]["upload"]["outputs"]["experiment_id"]
    runs = client.list_runs(experiment_id=experiment, page_size=50).runs or []
    assert [r.run_id for r in runs] == [run_id]
    endpoint = aws_client("sagemaker").describe_endpoint(EndpointName=outputs["endpoint_name"])
    assert endpoint["EndpointStatus"] == "InService"
    assert outputs["model_artifact"].endswith("model.tar.gz")
    kinds = {r["details"].get("kind") for r in state(lab)["ledger"] if r["kind"] == "custom-resource"}
    assert kinds == {"ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model",
                     "EndpointConfig", "Endpoint", "TransformJob"}
    # what the run created carries the lab's lineage: a label on each custom resource, a tag on
    # each SageMaker resource (the ACK controller passes spec.tags on)
    from kubernetes import client, config
    lineage = state(lab)["lineage"]
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=sandbox_info["kubeconfig"]))
    namespace = outputs["namespace"]
    labelled = {}
    for plural in ("processingjobs", "hyperparametertuningjobs", "trainingjobs", "models",
                   "endpointconfigs", "endpoints", "transformjobs"):
        items = api.list_namespaced_custom_object("sagemaker.services.k8s.aws", "v1alpha1", namespace,
                                                  plural, label_selector=f"labwiz.dev/lineage={lineage}")
        labelled[plural] = [o["metadata"]["labels"].get("labwiz.dev/kfp-run-id") for o in items["items"]]
    assert all(ids == [run_id] for ids in labelled.values()), labelled
    tags = aws_client("sagemaker").list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
    assert {"Key": "labwiz:lineage", "Value": lineage} in tags
    assert {"Key": "labwiz:kfp-run-id", "Value": run_id} in tags


BUNDLE_SECRET_VALUE = "bundleLabSecretValue-4a8c2e"


def _members(path) -> dict[str, bytes]:
    """Every file of the archive by its name inside the bundle (top directory dropped)."""
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read()
                for m in tar.getmembers() if m.isfile()}


def test_bundle_after_the_run(lab, tmp_path):
    """A bundle taken after the run above (the endpoint test done, cleanup not) holds the run's
    details, SageMaker descriptions and log tails, and Secret values only as their length.

    It lives here, not in tests/bundle, to reuse this module's lab instead of running a whole
    lab of its own."""
    from kubernetes import client

    from wizard.bundle import read_bundle
    from wizard.clients import Clients
    from wizard.doctor.runner import doctor_target
    from wizard.state import StateStore

    # after the module's run: only the endpoint test is missing (upload is left failed by the
    # bad-input test above, which is why not '--skip cleanup'); alone: every step but cleanup
    steps = json.loads((lab / "state.json").read_text()).get("steps", {}) \
        if (lab / "state.json").exists() else {}
    monitored = (steps.get("run-monitoring") or {}).get("status") == "done"
    ran = run_lab(lab, *(("--only", "endpoint-test") if monitored else ("--skip", "cleanup")),
                  timeout=600)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    state = lab
    doc = StateStore(state).load()
    namespace = doc["steps"]["credentials"]["outputs"]["namespace"]
    run_id = doc["steps"]["run-monitoring"]["outputs"]["run_id"]
    endpoint = doc["steps"]["run-monitoring"]["outputs"]["endpoint_name"]
    # a Secret with a known value next to whatever the lab keeps in the namespace
    core = Clients(doctor_target(state, sandbox=True)).core_v1()
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="bundle-lab-secret"),
        string_data={"password": BUNDLE_SECRET_VALUE}))
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
    assert planted["data"] == {"password": f"<{len(BUNDLE_SECRET_VALUE)} bytes, value not included>"}
    for secret in secrets:
        for value in list((secret.get("data") or {}).values()) + \
                list((secret.get("stringData") or {}).values()):
            assert re.fullmatch(r"<\d+ bytes, value not included>", value), \
                (secret["metadata"]["name"], value)
    for form in (BUNDLE_SECRET_VALUE, base64.b64encode(BUNDLE_SECRET_VALUE.encode()).decode()):
        assert not any(form.encode() in data for data in members.values())

    # inspect reads the same bundle
    view = read_bundle(proc.stdout.strip())
    assert view.state["steps"]["endpoint-test"]["status"] == "done"
    assert view.json("kfp/run.json")["run"]["run_id"] == run_id


@pytest.fixture
def aws_client(sandbox_info):  # noqa: F811
    """A boto3 client factory on the sandbox."""
    import boto3

    def client(service):
        """A boto3 client for ``service``."""
        return boto3.client(service, endpoint_url=sandbox_info["services"]["aws"]["url"],
                            region_name=sandbox_info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return client
