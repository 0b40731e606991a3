"""The doctor's command line and its runner's guarantees, through the real ``labwiz`` process."""

from __future__ import annotations

import json
import pytest

NO_AWS = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
          "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "KUBECONFIG": "/nonexistent"}


def test_list_checks_names_every_area(labwiz):
    proc = labwiz(["doctor", "--list-checks", "--json"], env=NO_AWS)
    assert proc.returncode == 0, proc.stderr
    checks = json.loads(proc.stdout)
    names = [c["name"] for c in checks]
    for name in ("aws-credentials", "aws-region", "pod-role-trust", "irsa-annotation",
                 "aws-secret", "execution-role", "s3-bucket", "s3-lab-data", "ack-controller",
                 "ack-crds", "ack-irsa", "pipeline-rbac", "ack-conditions", "resource-limits",
                 "kfp-api", "kfp-auth", "kfp-v2-pipeline", "run-pending", "endpoint-inservice",
                 "endpoint-invoke", "billing-leftovers"):
        assert name in names
    slow = [c["slow"] for c in checks]
    assert slow == sorted(slow)  # slow ones listed (and run) last
    assert all(c["doc_url"].startswith("https://") for c in checks)


def test_no_credentials_fails_with_exit_6(labwiz, tmp_path):
    env = dict(NO_AWS, AWS_REGION="eu-west-1")
    proc = labwiz(["--state-dir", str(tmp_path / "s"), "doctor", "--json",
                       "--check", "aws-credentials", "--check", "aws-region"], env=env)
    assert proc.returncode == 6, proc.stderr
    doc = json.loads(proc.stdout)
    by_name = {r["name"]: r for r in doc["results"]}
    assert by_name["aws-credentials"]["status"] == "fail"
    assert "No AWS credentials" in by_name["aws-credentials"]["found"]
    assert "aws configure" in by_name["aws-credentials"]["remediation"]
    assert by_name["aws-region"]["status"] == "skip"
    assert doc["summary"]["fail"] == 1


def test_unknown_check_is_a_usage_error(labwiz, tmp_path):
    proc = labwiz(["--state-dir", str(tmp_path / "s"), "doctor", "--check", "nope"],
                      env=NO_AWS)
    assert proc.returncode == 2
    assert "No doctor check is called nope" in proc.stderr
    assert "aws-credentials" in proc.stderr


def test_against_the_sandbox_exit_codes(labwiz, lab):
    base = ["--state-dir", str(lab.state_dir), "doctor", "--sandbox"]
    ok = labwiz(base + ["--check", "irsa-annotation", "--check", "ack-controller"],
                    env=NO_AWS)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "✔ pass  irsa-annotation" in ok.stdout
    lab.annotate(None)
    try:
        bad = labwiz(base + ["--check", "irsa-annotation", "--json"], env=NO_AWS)
    finally:
        lab.annotate(lab.pod_role_arn)
    assert bad.returncode == 6
    result = json.loads(bad.stdout)["results"][0]
    assert result["status"] == "fail" and "kubectl annotate" in result["remediation"]


def test_a_crashing_check_is_a_failed_result(lab, monkeypatch):
    from wizard.doctor import model

    model.registry()  # load the real catalogue first

    def broken(ctx):
        """A check that crashes."""
        raise RuntimeError("boom in a check")

    spec = model.CheckSpec("zz-broken", "A broken check", "test", broken, "https://example.org")
    monkeypatch.setitem(model._REGISTRY, "zz-broken", spec)
    results = lab.doctor("aws-credentials", "zz-broken", "kube-api")
    assert results["zz-broken"].status == "fail"
    assert "crashed: RuntimeError: boom in a check" in results["zz-broken"].found
    assert "labwiz doctor --check zz-broken" in results["zz-broken"].remediation
    assert results["kube-api"].status == "pass"  # the doctor went on


def test_stopped_sandbox_is_reported_without_reaching_out(tmp_path):
    from wizard.doctor import doctor_target, run_checks
    from wizard.state import StateStore, new_document

    state = tmp_path / "s"
    doc = new_document()
    doc["target"] = {"mode": "sandbox", "region": "eu-west-1"}
    StateStore(state).save(doc)
    target = doctor_target(state)
    assert target.is_sandbox and target.aws_endpoint_url is None
    results = {r.name: r for r in run_checks(state, target)}
    assert results["sandbox"].status == "fail"
    assert "labwiz sandbox up" in results["sandbox"].remediation
    # said once: the checks that need the sandbox are not run, and say why
    failed = [r.name for r in results.values() if r.status == "fail"]
    assert failed == ["sandbox"], failed
    for name in ("aws-credentials", "kube-api", "kfp-api", "billing-leftovers"):
        assert results[name].status == "skip"
        assert results[name].found == "Not checked: the sandbox is not running (see check 'sandbox')."
    assert results["kfp-v2-pipeline"].found != results["kube-api"].found  # local files: run
    from tests.conftest import run_labwiz

    shown = run_labwiz(["--state-dir", str(state), "doctor"])
    assert shown.returncode == 6
    lines = shown.stdout.splitlines()
    assert "namespace ?" not in lines[0] and "region eu-west-1" in lines[0]
    assert sum("sandbox is not running" in line for line in lines) == 2  # its check, then the rest
    assert "other check(s) not run: the sandbox is not running" in shown.stdout
    assert "1 failed" in lines[-1]


@pytest.mark.parametrize("text,key", [
    ("ResourceLimitExceeded: The account-level service limit 'ml.p3.2xlarge for training job "
     "usage' is 0 Instances", "limit"),
    ("ClientError: Could not assume role arn:aws:iam::1:role/x", "exec-role"),
    ("Not authorized to perform sts:AssumeRoleWithWebIdentity", "web-identity"),
    ("An error occurred (AccessDenied) when calling the GetObject operation: Access Denied",
     "s3-denied"),
])
def test_known_failure_texts(text, key):
    from wizard.doctor.lab import classify

    assert classify(text).key == key
