"""Crash matrix: SIGKILL ``labwiz run`` at every step boundary of steps 1-6 and at points inside
steps (IAM role creation, the S3 upload, the KFP upload), resume, and compare with a lab that ran
without interruption: same step statuses and outputs, same resources, nothing created twice, no
unchanged data uploaded again, and a state file that still parses."""

from __future__ import annotations

import json

import pytest

from tests.reliability.reliability_harness import (FIRST_SIX, SKIP_LONG, inventory, normalise,
                                                   read_events, run_and_kill)
from tests.steps.conftest import run_lab

pytestmark = pytest.mark.timeout(600)

# The kill points, in the order a run reaches them. Each is killed once, then the lab resumes
# and runs to the next one, so one lab crosses every boundary.
KILL_POINTS = [
    ("inside credentials (after the first IAM role)", {"event": "resource.created", "kind": "iam-role"}, None),
    ("boundary credentials -> data-upload", {"event": "step.started", "step": "data-upload"}, None),
    # the upload's intent is recorded just before its bytes go (the screen shows its command
    # short, with what follows it, so the event is the exact point)
    ("inside data-upload (the S3 upload started)", {"event": "resource.intent", "kind": "s3-object"},
     None),
    ("boundary data-upload -> crd-selection", {"event": "step.started", "step": "crd-selection"}, None),
    ("boundary crd-selection -> component-generation",
     {"event": "step.started", "step": "component-generation"}, None),
    ("boundary component-generation -> compile", {"event": "step.started", "step": "compile"}, None),
    ("boundary compile -> upload", {"event": "step.started", "step": "upload"}, None),
    # the reference lab made the pipeline, so this lab adds (and records) a version of it
    ("inside upload (pipeline version created)",
     {"event": "resource.created", "kind": "kfp-pipeline-version"}, None),
]


def _summary(lab):
    """Step statuses and outputs, normalised so two labs compare equal when they did the same."""
    doc = json.loads((lab / "state.json").read_text())
    return normalise({sid: {"status": rec["status"], "outputs": rec.get("outputs")}
                      for sid, rec in doc["steps"].items() if sid in FIRST_SIX}, lab)


def _lab_inventory(lab, aws, kube, sandbox_info):
    """The inventory with lineage-specific names normalised."""
    return normalise(inventory(lab, aws, kube, sandbox_info), lab)


def _clear_lab_objects(aws, bucket):
    """Delete the lab's S3 objects so the next run has to upload them (a kill can hit the upload)."""
    s3 = aws("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="lab1/"):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])


def _without_times(inv):
    """The inventory minus S3 LastModified (two labs upload at different times)."""
    inv = dict(inv)
    inv["objects"] = {k: v["etag"] for k, v in inv["objects"].items()}
    return inv


def test_kill_at_every_boundary_then_resume_matches_an_uninterrupted_lab(
        tmp_path, sandbox_home, sandbox_info, aws, kube):
    """One lab is SIGKILLed at each point in turn; after the last resume it equals the
    reference lab in steps, outputs and resources, with no duplicates and no re-upload."""
    import os

    reference = tmp_path / "reference"
    reference.mkdir(mode=0o700)
    os.symlink(sandbox_home / "sandbox", reference / "sandbox")
    result = run_lab(reference, "--skip", SKIP_LONG)
    assert result.returncode == 0, result.stdout + result.stderr
    ref_steps = _summary(reference)
    assert all(ref_steps[s]["status"] == "done" for s in FIRST_SIX)

    before = _lab_inventory(reference, aws, kube, sandbox_info)
    crashed = tmp_path / "crashed"
    crashed.mkdir(mode=0o700)
    os.symlink(sandbox_home / "sandbox", crashed / "sandbox")
    _clear_lab_objects(aws, sandbox_info["bucket"])
    uploaded_at = None
    for name, event, screen in KILL_POINTS:
        outcome = run_and_kill(crashed, ["--skip", SKIP_LONG], event=event, screen=screen)
        assert outcome["killed"], f"the run ended before the kill point '{name}':\n{outcome['output']}"
        # After every crash the state file is whole JSON and finished steps stay done.
        doc = json.loads((crashed / "state.json").read_text())
        assert doc["schema_version"]
        if name.startswith("boundary data-upload"):
            # data-upload finished before this kill: remember when its objects were written.
            uploaded_at = {k: v["modified"] for k, v in
                           inventory(crashed, aws, kube, sandbox_info)["objects"].items()
                           if k.startswith("lab1/source_data/") or k.startswith("lab1/processing_code/")}
            assert uploaded_at, "data-upload was done but the sandbox holds none of its objects"
    final = run_lab(crashed, "--skip", SKIP_LONG)
    assert final.returncode == 0, final.stdout + final.stderr

    assert _summary(crashed) == ref_steps
    ref_inv = _without_times(_lab_inventory(reference, aws, kube, sandbox_info))
    got_inv = _lab_inventory(crashed, aws, kube, sandbox_info)
    # Both labs share one sandbox, so shared objects (the pipeline, the experiment, the bucket's
    # objects) are compared as sets; each lab's own IAM roles must match one for one.
    assert got_inv["roles"] == ref_inv["roles"]
    # the execution role; no pod role, since pod_access is none by default (no pipeline pod
    # calls AWS)
    assert len(got_inv["roles"]) == 1
    assert _without_times(got_inv)["objects"] == ref_inv["objects"]
    # The crashed lab's package differs from the reference's (its own role ARN), so it adds
    # exactly one pipeline version, however many times it was killed.
    name = "mnist-classification-pipeline"
    assert got_inv["kfp_pipelines"][name] == before["kfp_pipelines"][name] + 1
    assert set(got_inv["kfp_pipelines"]) == set(ref_inv["kfp_pipelines"])
    assert got_inv["kfp_experiments"] == ref_inv["kfp_experiments"]
    assert got_inv["k8s_roles"] == ref_inv["k8s_roles"]
    assert got_inv["k8s_rolebindings"] == ref_inv["k8s_rolebindings"]
    # No unchanged data was uploaded again after the crashes.
    for key, modified in uploaded_at.items():
        assert got_inv["objects"][key]["modified"] == modified, f"{key} was uploaded again"
    # The ledger names each resource once.
    doc = json.loads((crashed / "state.json").read_text())
    live = [(r["kind"], r["name"]) for r in doc["ledger"] if not r.get("deleted_at")]
    assert len(live) == len(set(live)), f"duplicate ledger rows: {live}"
    starts = [e for e in read_events(crashed) if e["event"] == "step.done"]
    assert sorted({e["step"] for e in starts}) == sorted(FIRST_SIX)
