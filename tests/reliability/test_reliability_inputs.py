"""Bad input table: every kind of input the wizard takes, given a wrong value against a lab whose
steps 1-6 are done. Each must give a clear message naming the problem and a "What to do" line,
and lose nothing: the state file still parses and every other finished step stays done.

Some rows echo checks in tests/steps and tests/core; here they run against a finished lab, to
show that a bad answer late in a lab does not cost the learner earlier work.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_labwiz
from tests.reliability.reliability_harness import FIRST_SIX, SKIP_LONG
from tests.steps.conftest import run_lab

pytestmark = pytest.mark.timeout(300)

SHARED_CRDS = Path(__file__).resolve().parents[2].parent / "shared" / "ack-crds" / "v1.9.1"


@pytest.fixture(scope="module")
def staged(sandbox_home, tmp_path_factory) -> Path:
    """A lab with steps 1-6 done, copied for each case."""
    lab = tmp_path_factory.mktemp("staged") / "lab"
    lab.mkdir(mode=0o700)
    os.symlink(sandbox_home / "sandbox", lab / "sandbox")
    result = run_lab(lab, "--skip", SKIP_LONG)
    assert result.returncode == 0, result.stdout + result.stderr
    return lab


def _files(tmp: Path) -> dict:
    """Input files the table refers to, written on demand."""
    deployment = tmp / "deployment.yaml"
    deployment.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    other = yaml.safe_load((SHARED_CRDS / "sagemaker.services.k8s.aws_models.yaml").read_text())
    other["spec"]["group"] = "s3.services.k8s.aws"
    other["metadata"]["name"] = "models.s3.services.k8s.aws"
    foreign = tmp / "foreign.yaml"
    foreign.write_text(yaml.safe_dump(other))
    text = tmp / "notes.txt"
    text.write_text("just some notes\n")
    not_pipeline = tmp / "not_pipeline.yaml"
    not_pipeline.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    return {"DEPLOYMENT": str(deployment), "FOREIGN": str(foreign), "TEXT": str(text),
            "NOT_PIPELINE": str(not_pipeline)}


# (id, step to re-run, answers, words that must appear)
ANSWER_CASES = [
    ("arn-role-name", "credentials", {"execution_role_arn": "SageMakerExecutionRole"},
     "is a role name; an ARN is needed here"),
    ("arn-short-account", "credentials", {"execution_role_arn": "arn:aws:iam::123:role/x"},
     "an account id is 12 digits"),
    ("arn-wrong-service", "credentials", {"execution_role_arn": "arn:aws:s3:::bucket"},
     "an account id is 12 digits"),
    ("arn-missing-role", "credentials",
     {"execution_role_arn": "arn:aws:iam::123456789012:role/does-not-exist"}, "does not exist"),
    ("bucket-underscore", "credentials", {"bucket": "Bad_Bucket"}, "is not a valid S3 bucket name"),
    ("bucket-too-short", "credentials", {"bucket": "ab"}, "3 to 63 characters"),
    ("bucket-uri", "credentials", {"bucket": "s3://my-bucket/lab1"}, "is an S3 URI"),
    ("region-unknown", "credentials", {"region": "eu-west-9"}, "is not an AWS region"),
    ("region-other-than-sandbox", "credentials", {"region": "us-east-2"},
     "The sandbox runs in eu-west-1"),
    ("namespace-invalid", "credentials", {"namespace": "Kube Flow"},
     "is not a valid Kubernetes namespace name"),
    ("namespace-missing", "credentials", {"namespace": "no-such-namespace"},
     "does not exist in the cluster"),
    ("service-account-missing", "credentials", {"service_account": "nobody"}, "does not exist"),
    ("cluster-missing", "credentials", {"cluster_name": "other-cluster"},
     "There is no EKS cluster 'other-cluster'"),
    ("pod-access-unknown", "credentials", {"pod_access": "magic"}, "is not one of: none, irsa, secret"),
    ("mnist-missing", "data-upload", {"mnist_path": "/no/such/mnist.pkl.gz"}, "is not a file"),
    ("mnist-not-gzip", "data-upload", {"mnist_path": "TEXT"}, "is not a readable mnist.pkl.gz"),
    ("crd-source-unknown", "crd-selection", {"crd_source": "floppy"}, "is not a CRD source"),
    ("crd-path-not-given", "crd-selection", {"crd_source": "path"}, "no crd_path was given"),
    ("crd-path-missing", "crd-selection", {"crd_source": "path", "crd_path": "/no/such/dir"},
     "does not exist"),
    ("crd-not-a-crd", "crd-selection", {"crd_source": "path", "crd_path": "DEPLOYMENT"},
     "Deployment"),
    ("crd-not-ack", "crd-selection", {"crd_source": "path", "crd_path": "FOREIGN"},
     "s3.services.k8s.aws"),
    ("crd-kind-unknown", "crd-selection", {"crd_extra_kinds": "Spaceship"}, "Unknown kinds: Spaceship"),
    ("kfp-host-with-spaces", "upload", {"kfp_host": "not a url"}, "contains spaces"),
    ("kfp-host-no-scheme", "upload", {"kfp_host": "kubeflow.example.com"}, "has no scheme"),
    ("kfp-host-unreachable", "upload", {"kfp_host": "http://127.0.0.1:1"},
     "Kubeflow Pipelines is not reachable at http://127.0.0.1:1"),
    ("package-not-pipeline", "upload", {"package_path": "NOT_PIPELINE"},
     "is not a KFP v2 pipeline package"),
    ("package-text", "upload", {"package_path": "TEXT"}, "is not a KFP v2 pipeline package"),
    ("component-image-not-a-reference", "component-generation",
     {"component_image": "Python 3.11; rm -rf /"}, "is not a container image reference"),
]


#: cases whose answer is refused before the step starts: exit 2, "bad usage or input" in
#: README's table; every other case starts the step, which fails on the answer: exit 1, "a step
#: failed"
REFUSED_BEFORE_THE_STEP = {
    "arn-role-name", "arn-short-account", "arn-wrong-service", "bucket-underscore",
    "bucket-too-short", "bucket-uri", "region-unknown", "namespace-invalid", "pod-access-unknown",
    "mnist-missing", "crd-source-unknown", "crd-path-missing", "kfp-host-with-spaces",
    "kfp-host-no-scheme", "package-not-pipeline", "package-text", "component-image-not-a-reference",
}


def _copy(staged: Path, dest: Path) -> Path:
    """A copy of the staged lab (the sandbox link kept as a link)."""
    shutil.copytree(staged, dest, symlinks=True)
    return dest


def _statuses(lab: Path) -> dict:
    """Step statuses from a state file that must parse."""
    return {k: v["status"] for k, v in json.loads((lab / "state.json").read_text())["steps"].items()}


@pytest.mark.parametrize("case, step, answers, words", ANSWER_CASES, ids=[c[0] for c in ANSWER_CASES])
def test_bad_answer_is_explained_and_loses_nothing(staged, tmp_path, case, step, answers, words):
    """A wrong answer fails plainly with a remedy; the other finished steps stay done."""
    lab = _copy(staged, tmp_path / "lab")
    files = _files(tmp_path)
    answers = {k: files.get(v, v) if isinstance(v, str) else v for k, v in answers.items()}
    ledger_before = json.loads((lab / "state.json").read_text())["ledger"]
    result = run_lab(lab, "--from", step, "--only", step, answers=answers, timeout=120)
    output = result.stdout + result.stderr
    # an unreachable service exits 5, as the README says; an answer refused before its step
    # starts exits 2; a step that starts and fails on the answer exits 1
    assert result.returncode == (5 if "unreachable" in case else
                                 2 if case in REFUSED_BEFORE_THE_STEP else 1), output
    assert words in output
    assert "What to do" in output
    after = _statuses(lab)
    assert all(after[s] == "done" for s in FIRST_SIX if s != step), after
    # Nothing the lab created was forgotten.
    ledger_after = json.loads((lab / "state.json").read_text())["ledger"]
    assert {r["id"] for r in ledger_before} <= {r["id"] for r in ledger_after}


def _truncate(doc_text: str, _doc: dict) -> str:
    """The first 300 bytes, as a crash mid-write on a careless store would leave."""
    return doc_text[:300]


STATE_CASES = [
    ("truncated", _truncate, "is corrupted", "state.json.backup"),
    ("empty", lambda t, d: "", "is corrupted", "state.json.backup"),
    ("newer-version", lambda t, d: json.dumps({**d, "schema_version": 99}),
     "has schema version 99", "Upgrade labwiz"),
    ("hand-edited-serial", lambda t, d: json.dumps({**d, "serial": "x"}),
     "field 'serial' is missing or not a int", "restore the backup"),
    ("not-an-object", lambda t, d: "[1, 2, 3]", "state.json", "What to do"),
]


@pytest.mark.parametrize("case, damage, words, remedy", STATE_CASES, ids=[c[0] for c in STATE_CASES])
def test_damaged_state_file_is_refused_and_kept(staged, tmp_path, case, damage, words, remedy):
    """A damaged state file stops the run with a remedy, and is neither overwritten nor lost."""
    lab = _copy(staged, tmp_path / "lab")
    text = (lab / "state.json").read_text()
    damaged = damage(text, json.loads(text))
    (lab / "state.json").write_text(damaged)
    backup = (lab / "state.json.backup").read_bytes()
    result = run_lab(lab, "--only", "crd-selection", timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output  # README: the state file is corrupted or invalid
    assert words in output and remedy in output
    assert "What to do" in output
    assert (lab / "state.json").read_text() == damaged
    assert (lab / "state.json.backup").read_bytes() == backup
    status = run_labwiz(["--state-dir", str(lab), "status"])
    assert status.returncode == 3 and "What to do" in status.stdout + status.stderr


@pytest.mark.parametrize("case, content, words", [
    ("answers-missing", None, "answers"),
    ("answers-broken-yaml", "key: [unclosed", "answers"),
    ("answers-a-list", "- a\n- b\n", "answers"),
], ids=["answers-missing", "answers-broken-yaml", "answers-a-list"])
def test_bad_answers_file(staged, tmp_path, case, content, words):
    """An answers file that is absent or not a mapping is refused before anything runs."""
    lab = _copy(staged, tmp_path / "lab")
    path = tmp_path / "answers.yaml"
    if content is not None:
        path.write_text(content)
    before = (lab / "state.json").read_bytes()
    result = run_labwiz(["--state-dir", str(lab), "run", "--sandbox", "--yes", "--answers",
                         str(path), "--from", "crd-selection", "--only", "crd-selection"])
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert words in output.lower()
    assert (lab / "state.json").read_bytes() == before
