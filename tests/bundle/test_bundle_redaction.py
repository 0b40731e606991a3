"""Canary secrets planted in state, logs, events and cluster resources appear nowhere in a bundle."""

from __future__ import annotations

import base64
import json
import tarfile

from wizard.bundle import read_bundle, write_bundle
from wizard.state import StateStore

ACCESS = "AKIACANARYZ7Q4X9W2M5"
SECRET = "Cn4ryS3cretKeyV4lue/0123456789abcdefGHIJ"
COOKIE = "MTcanaryCookieValue0123456789"
TOKEN = "canary-bearer-token-0123456789abcdef"
CANARIES = (ACCESS, SECRET, COOKIE, TOKEN)


def _plant(lab) -> None:
    """Plant the canaries in state, logs, events and cluster resources."""
    from kubernetes import client

    assert len(SECRET) == 40
    store = StateStore(lab.state_dir)
    doc = store.load()
    doc["inputs"]["note"] = f"key {ACCESS} secret {SECRET}"
    doc["steps"]["upload"] = {"status": "failed", "attempts": 1, "error": {
        "message": f"KFP said 401 to 'Authorization: Bearer {TOKEN}' with cookie "
                   f"authservice_session={COOKIE}", "remediation": "sign in again"}}
    store.save(doc)
    (lab.state_dir / "labwiz.log").write_text(
        f"2026-11-23 INFO boto: aws_secret_access_key = {SECRET}\n"
        f"2026-11-23 DEBUG kfp: headers {{'Cookie': 'authservice_session={COOKIE}'}}\n"
        f"2026-11-23 DEBUG kfp: Authorization: Bearer {TOKEN}\n"
        f"2026-11-23 INFO iam: created access key {ACCESS} with secret {SECRET}\n")
    # an events line written by an older labwiz, before events were redacted
    with open(lab.state_dir / "events.jsonl", "a") as fh:
        fh.write(json.dumps({"ts": "2026-11-23T10:00:00Z", "event": "step.failed",
                             "step": "upload", "token": TOKEN,
                             "message": f"cookie authservice_session={COOKIE}"}) + "\n")
    core = lab.core()
    core.create_namespaced_secret(lab.namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="canary-secret"),
        string_data={"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET,
                     "token": TOKEN}))
    core.create_namespaced_event(lab.namespace, client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="canary-event"),
        involved_object=client.V1ObjectReference(kind="Pod", name="p", namespace=lab.namespace),
        reason="Failed", type="Warning",
        message=f"pulling with Authorization: Bearer {TOKEN} failed"))
    lab.create_cr({"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Model",
                   "metadata": {"name": "canary-model",
                                "annotations": {"example.com/token": TOKEN}},
                   "spec": {"modelName": "canary-model",
                            "executionRoleARN": lab.info.execution_role_arn,
                            "primaryContainer": {
                                "image": "438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1",
                                "environment": {"API_TOKEN": TOKEN,
                                                "SESSION": f"authservice_session={COOKIE}"}}}})


def _all_bytes(path) -> dict[str, bytes]:
    """Every file of an archive, by name."""
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _bundle_with(lab, tmp_path, plant, unplant):
    """Plant secrets, write a bundle, take the planted objects away again; the result and
    every file of the archive."""
    plant(lab)
    try:
        result = write_bundle(lab.state_dir, lab.target, tmp_path)
    finally:
        unplant()
    return result, _all_bytes(result.path)


def _assert_absent(members: dict[str, bytes], canaries, *, base64_too: bool = False) -> None:
    """No canary (nor, with ``base64_too``, its base64 form) is in any file of the bundle."""
    for name, data in members.items():
        for canary in canaries:
            forms = [canary] + ([base64.b64encode(canary.encode()).decode()] if base64_too else [])
            for form in forms:
                assert form.encode() not in data, f"{canary!r} leaked into {name}"


def test_canaries_never_reach_the_bundle(bundle_lab, tmp_path):
    lab = bundle_lab

    def unplant():
        """Remove the planted Secret and Model."""
        lab.core().delete_namespaced_secret("canary-secret", lab.namespace)
        lab.delete_cr("Model", "canary-model")

    result, members = _bundle_with(lab, tmp_path, _plant, unplant)
    names = {n.split("/", 1)[1] for n in members}
    for expected in ("manifest.json", "redactions.json", "state.json", "events.jsonl",
                     "labwiz.log", "doctor.json", "versions.json",
                     "kubernetes/custom-resources.json", "kubernetes/events.json",
                     "kubernetes/secrets.json"):
        assert expected in names, (expected, sorted(names))
    _assert_absent(members, CANARIES, base64_too=True)
    secrets = json.loads(next(d for n, d in members.items() if n.endswith("secrets.json")))
    canary = next(s for s in secrets if s["metadata"]["name"] == "canary-secret")
    assert canary["data"]["AWS_ACCESS_KEY_ID"] == "<20 bytes, value not included>"
    assert canary["data"]["AWS_SECRET_ACCESS_KEY"] == "<40 bytes, value not included>"
    # the report says what was hidden where, in the archive and in the result
    hidden = {(r["file"], r["kind"]) for r in result.redactions}
    assert ("labwiz.log", "AWS secret key") in hidden
    assert ("labwiz.log", "bearer token") in hidden
    assert ("labwiz.log", "cookie") in hidden
    assert ("state.json", "AWS access key id") in hidden
    assert any(f == "kubernetes/events.json" and k == "bearer token" for f, k in hidden)
    assert any(f == "kubernetes/custom-resources.json" for f, _ in hidden)
    view = read_bundle(result.path)
    assert view.redactions["hidden"] == result.redactions
    assert view.state["steps"]["upload"]["status"] == "failed"
    assert any(e.get("event") == "step.failed" for e in view.events)
    assert {r["name"] for r in view.doctor} >= {"aws-credentials", "kube-api"}
    assert view.versions["packages"]["kfp"]


def test_cli_prints_path_and_report(bundle_lab, labwiz, tmp_path):
    proc = labwiz(["--state-dir", str(bundle_lab.state_dir), "bundle", "--sandbox", "--out",
                   str(tmp_path / "support.tar.gz"), "--no-doctor"],
                  env={"AWS_EC2_METADATA_DISABLED": "true"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "support.tar.gz")
    assert "Redaction report:" in proc.stderr
    plain = labwiz(["inspect", str(tmp_path / "support.tar.gz")])
    assert plain.returncode == 0, plain.stderr
    for heading in ("Where the lab stands", "Timeline", "Doctor", "Redactions"):
        assert heading in plain.stdout
    assert "done  credentials" in plain.stdout


# secrets in shapes the first patterns missed: env assignments, URL userinfo, password flags and
# oauth2_proxy cookies; each canary is unique so a leak names its shape
KFP_TOKEN = "kfpTokenCanary-7f3a9c1e5b"
DB_PASSWORD = "dbPassCanary-51c2e8"
URL_PASSWORD = "urlPassCanary-b7e41d"
FLAG_PASSWORD = "flagPassCanary-93ad0f"
FLAG_EQ_PASSWORD = "flagEqPassCanary-2c6e"
OAUTH_COOKIE = "oauth2CookieCanary-d41f7a0b"
ENV_TOKEN = "envListTokenCanary-e0c9"
MORE_CANARIES = (KFP_TOKEN, DB_PASSWORD, URL_PASSWORD, FLAG_PASSWORD, FLAG_EQ_PASSWORD,
                 OAUTH_COOKIE, ENV_TOKEN)


def _plant_more(lab) -> None:
    """Plant the second set of canaries in state, the log, the events and cluster resources."""
    from kubernetes import client

    store = StateStore(lab.state_dir)
    doc = store.load()
    doc["inputs"]["note"] = f"ran with KF_PIPELINES_TOKEN={KFP_TOKEN} set"
    doc["inputs"]["env"] = [{"name": "KF_PIPELINES_TOKEN", "value": ENV_TOKEN},
                            {"name": "AWS_REGION", "value": "eu-west-1"}]
    doc["steps"]["upload"] = {"status": "failed", "attempts": 1, "error": {
        "message": f"kfp login --password {FLAG_PASSWORD} was refused",
        "remediation": "sign in again"}}
    store.save(doc)
    (lab.state_dir / "labwiz.log").write_text(
        f"2026-11-23 DEBUG env: export KF_PIPELINES_TOKEN={KFP_TOKEN}\n"
        f"2026-11-23 DEBUG env: DB_PASSWORD=\"{DB_PASSWORD}\"\n"
        f"2026-11-23 INFO kfp: host https://admin:{URL_PASSWORD}@kubeflow.example.com/pipeline\n"
        f"2026-11-23 DEBUG cmd: helm registry login --password={FLAG_EQ_PASSWORD} public.ecr.aws\n"
        f"2026-11-23 DEBUG kfp: sent _oauth2_proxy={OAUTH_COOKIE}; Path=/\n")
    with open(lab.state_dir / "events.jsonl", "a") as fh:
        fh.write(json.dumps({"ts": "2026-11-23T10:00:00Z", "event": "step.failed",
                             "step": "upload",
                             "message": f"cookie _oauth2_proxy={OAUTH_COOKIE} expired"}) + "\n")
    lab.core().create_namespaced_event(lab.namespace, client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="canary-event-2"),
        involved_object=client.V1ObjectReference(kind="Pod", name="p", namespace=lab.namespace),
        reason="Failed", type="Warning",
        message=f"container env KF_PIPELINES_TOKEN={KFP_TOKEN}; pull from "
                f"https://robot:{URL_PASSWORD}@registry.example.com failed"))
    lab.create_cr({"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Model",
                   "metadata": {"name": "canary-model-2", "annotations": {
                       "example.com/dashboard": f"https://admin:{URL_PASSWORD}@kf.example.com",
                       "example.com/login": f"kfp --password {FLAG_PASSWORD}"}},
                   "spec": {"modelName": "canary-model-2",
                            "executionRoleARN": lab.info.execution_role_arn,
                            "primaryContainer": {
                                "image": "438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1",
                                "environment": {"SESSION": f"_oauth2_proxy={OAUTH_COOKIE}"}}}})


def test_env_url_flag_and_oauth2_canaries(bundle_lab, tmp_path):
    lab = bundle_lab

    def unplant():
        """Remove the planted Event and Model."""
        lab.core().delete_namespaced_event("canary-event-2", lab.namespace)
        lab.delete_cr("Model", "canary-model-2")

    result, members = _bundle_with(lab, tmp_path, _plant_more, unplant)
    _assert_absent(members, MORE_CANARIES)
    hidden = {(r["file"], r["kind"]) for r in result.redactions}
    for row in (("labwiz.log", "secret environment variable"),
                ("labwiz.log", "password in URL"),
                ("labwiz.log", "password"),  # --password=value
                ("labwiz.log", "oauth2_proxy cookie"),
                ("state.json", "secret environment variable"),
                ("state.json", "password flag"),
                ("state.json", "'KF_PIPELINES_TOKEN' field"),  # the {"name", "value"} env entry
                ("events.jsonl", "oauth2_proxy cookie"),
                ("kubernetes/events.json", "secret environment variable"),
                ("kubernetes/events.json", "password in URL"),
                ("kubernetes/custom-resources.json", "password in URL"),
                ("kubernetes/custom-resources.json", "password flag"),
                ("kubernetes/custom-resources.json", "oauth2_proxy cookie")):
        assert row in hidden, (row, sorted(hidden))
    # what surrounds a secret stays readable for support
    log = next(d for n, d in members.items() if n.endswith("/labwiz.log")).decode()
    assert "https://admin:********@kubeflow.example.com/pipeline" in log
    assert "export KF_PIPELINES_TOKEN=********" in log
    view = read_bundle(result.path)
    assert view.redactions["hidden"] == result.redactions
    env = view.state["inputs"]["env"]
    assert env[1] == {"name": "AWS_REGION", "value": "eu-west-1"}
    assert env[0]["value"] == f"<redacted: {len(ENV_TOKEN)} characters>"


ORDINARY = """\
2026-11-23 INFO kfp: host http://127.0.0.1:8080/apis/v2beta1/runs?page_size=10&next_page_token=abc
2026-11-23 INFO docs: see https://www.kubeflow.org/docs/components/pipelines/ and mail help@example.com
2026-11-23 INFO env: KF_PIPELINES_ENDPOINT=http://localhost:8080 AWS_REGION=eu-west-1
2026-11-23 INFO git: cloned git@github.com:aws-samples/lab.git into /tmp/lab
2026-11-23 INFO ecr: docker login --password-stdin 438346466558.dkr.ecr.eu-west-1.amazonaws.com
2026-11-23 INFO hint: a password is never stored; the TOKEN_URL and SECRET_NAME are settings
2026-11-23 INFO s3: uploaded s3://sagemaker-eu-west-1-123456789012/lab1/source_data/mnist.pkl.gz
2026-11-23 INFO kfp: run 3f2a9c1e-5b7d-4e2a-9c1e-5b7d4e2a9c1e is RUNNING (sha256 0f3a...)
"""


def test_ordinary_text_is_left_alone():
    """Addresses, ports, e-mail, git remotes, --password-stdin and setting names are not secrets:
    the redactor changes nothing in them and reports nothing."""
    from wizard.bundle.redact import Redactor

    redactor = Redactor()
    assert redactor.text(ORDINARY, "labwiz.log") == ORDINARY
    assert redactor.report() == []
