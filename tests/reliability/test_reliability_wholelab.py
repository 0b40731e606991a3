"""The whole lab, crashed twice and resumed: SIGKILL while run-monitoring waits on SageMaker
jobs and again in the middle of cleanup. Afterwards the lab must be finished exactly once (one
KFP run, nothing the wizard created left behind, what it did not create untouched), its files
private, and the canary secrets (KFP token and cookie, the aws-secret key) nowhere on disk, on
screen or in a support bundle."""

from __future__ import annotations

import base64
import json
import os
import stat
import tarfile

import pytest

from tests.conftest import run_labwiz
from tests.reliability.reliability_harness import inventory, read_events, run_and_kill
from tests.steps.conftest import run_lab

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TOKEN = "canary-token-7f3a9c1e5b"
COOKIE = "canary-cookie-2d8e4b6f0a"


def _secret_values(kube, namespace) -> list[str]:
    """The aws-secret values long enough to be a secret access key (the access key id is a
    public identifier: the ledger names the key by it)."""
    from kubernetes import client as k8s

    secret = k8s.CoreV1Api(kube).read_namespaced_secret("aws-secret", namespace)
    return [base64.b64decode(v).decode() for v in (secret.data or {}).values()
            if len(base64.b64decode(v)) >= 30]


def _preexisting_secret(kube, namespace):
    """A secret the learner had before the lab; cleanup must leave it."""
    from kubernetes import client as k8s

    body = k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="learner-own-secret"),
                        string_data={"note": "not the wizard's"})
    k8s.CoreV1Api(kube).create_namespaced_secret(namespace, body)


def test_whole_lab_crashed_in_monitoring_and_cleanup(lab, sandbox_info, aws, kube, tmp_path):
    """Kill in run-monitoring and in cleanup, resume, then check the end state and the secrets."""
    ns = sandbox_info["profile_namespace"]
    _preexisting_secret(kube, ns)
    answers = {"kfp_token": TOKEN, "kfp_cookie": f"authservice_session={COOKIE}",
               "pod_access": "secret", "execution_role_arn": sandbox_info["execution_role_arn"]}
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers))
    args = ["--answers", str(answers_file)]
    screens = []

    first = run_and_kill(lab, args, event={"event": "resource.created", "kind": "custom-resource"},
                         timeout=400)
    screens.append(first["output"])
    assert first["killed"], first["output"]
    canaries = [TOKEN, COOKIE, *_secret_values(kube, ns)]
    assert len(canaries) >= 3, "the aws-secret holds no secret access key"

    second = run_and_kill(lab, args, event={"event": "resource.deleted"}, timeout=400)
    screens.append(second["output"])
    assert second["killed"], second["output"]
    # The resumed monitoring followed the run it had started, not a new one.
    run_ids = {e["name"] for e in read_events(lab)
               if e["event"] == "resource.created" and e["kind"] == "kfp-run"}
    assert len(run_ids) == 1 and run_ids.pop()[:8] in second["output"], second["output"]

    last = run_lab(lab, *args, timeout=400)
    screens.append(last.stdout + last.stderr)
    assert last.returncode == 0, last.stdout + last.stderr
    doc = json.loads((lab / "state.json").read_text())
    assert all(rec["status"] == "done" for rec in doc["steps"].values()), doc["steps"]

    # One KFP run for the lab, however often it was killed while waiting.
    runs = [e for e in read_events(lab) if e["event"] == "resource.created" and e["kind"] == "kfp-run"]
    assert len({e["name"] for e in runs}) == 1
    # Cleanup removed what the wizard made, and only that.
    inv = inventory(lab, aws, kube, sandbox_info)
    assert inv["roles"] == {}, inv["roles"]
    assert "labwiz-ack-sagemaker" not in inv["k8s_roles"]
    assert "aws-secret" not in inv["k8s_secrets"]
    assert "learner-own-secret" in inv["k8s_secrets"]
    aws("iam").get_role(RoleName=sandbox_info["execution_role_arn"].split("/")[-1])
    aws("s3").head_bucket(Bucket=sandbox_info["bucket"])
    assert not [k for k in inv["objects"] if k.startswith("lab1/")], inv["objects"]
    live = [r for r in doc["ledger"] if not r.get("deleted_at")]
    assert not [r for r in live if r["kind"] in ("iam-role", "iam-user", "iam-access-key",
                                                  "k8s-secret", "kfp-run")], live

    # Files: private directory, private state and log files.
    assert stat.S_IMODE(lab.stat().st_mode) == 0o700
    for name in ("state.json", "state.json.backup", "events.jsonl", "labwiz.log"):
        assert stat.S_IMODE((lab / name).stat().st_mode) == 0o600, name

    # Secrets: nowhere the wizard writes, nothing it prints, nothing in a bundle.
    bundle_dir = tmp_path / "bundle"
    bundle_dir.mkdir()
    bundle = run_labwiz(["--state-dir", str(lab), "bundle", "--sandbox", "--out", str(bundle_dir)],
                        timeout=180)
    assert bundle.returncode == 0, bundle.stdout + bundle.stderr
    screens.append(bundle.stdout + bundle.stderr)
    texts = {"screen": "\n".join(screens)}
    for path in lab.rglob("*"):
        if path.is_file() and "sandbox" not in path.relative_to(lab).parts and path.stat().st_size < 5e6:
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    archives = list(bundle_dir.glob("*.tar.gz"))
    assert archives, "labwiz bundle wrote no archive"
    with tarfile.open(archives[0]) as tar:
        for member in tar.getmembers():
            if member.isfile():
                texts[f"bundle:{member.name}"] = tar.extractfile(member).read().decode("utf-8", "replace")
    assert any(k.endswith("commands/credentials.sh") for k in texts), "no commands file checked"
    leaks = [(where, c[:6]) for where, text in texts.items() for c in canaries if c in text]
    assert not leaks, f"secrets found in: {leaks}"
