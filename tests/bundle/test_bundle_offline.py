"""Bundles when services are down, and ``inspect`` on files that are not bundles."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from wizard.bundle import read_bundle, write_bundle
from wizard.bundle.view import NotABundle
from wizard.events import EventLog
from wizard.state import StateStore, new_document


def _stopped_sandbox_lab(state):
    """A state for a sandbox lab whose sandbox is not running."""
    doc = new_document()
    doc["target"] = {"mode": "sandbox", "region": "eu-west-1", "namespace": "kubeflow-user"}
    doc["inputs"] = {"namespace": "kubeflow-user", "bucket": "b"}
    doc["steps"] = {"credentials": {"status": "done", "attempts": 1},
                    "run-monitoring": {"status": "failed", "attempts": 2,
                                       "outputs": {"run_id": "run-1"},
                                       "error": {"message": "the run failed"}}}
    doc["ledger"] = [{"id": "1", "kind": "sagemaker-endpoint", "name": "ep-1", "step": "x",
                      "arn": None, "region": "eu-west-1", "namespace": None, "details": {},
                      "created_at": "2026-11-23T10:00:00Z", "deleted_at": None}]
    StateStore(state).save(doc)
    EventLog(state).append("step.started", step="credentials")
    EventLog(state).append("step.failed", step="run-monitoring", message="the run failed")


def test_bundle_with_every_service_down(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    state = tmp_path / "state"
    _stopped_sandbox_lab(state)
    result = write_bundle(state, out=tmp_path)
    assert result.path.exists() and result.path.parent == tmp_path
    parts = {n["part"]: n["why"] for n in result.notes}
    assert "not answer" in parts["kubernetes/*"] or "not running" in parts["kubernetes/*"]
    assert "AWS credentials" in parts["sagemaker/*"]
    assert "kfp/run.json" in parts
    view = read_bundle(result.path)
    assert view.manifest["notes"] == result.notes
    assert view.state["steps"]["run-monitoring"]["status"] == "failed"
    assert [e["event"] for e in view.events] == ["step.started", "step.failed"]
    statuses = {r["name"]: r for r in view.doctor}
    # the sandbox's own check fails; what depends on it is said once as not run, not failed
    assert statuses["sandbox"]["status"] == "fail"
    assert statuses["kube-api"]["status"] == "skip", statuses["kube-api"]


def test_not_a_bundle(tmp_path, labwiz):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(NotABundle, match="not a labwiz bundle"):
        read_bundle(text)
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        data = json.dumps({"format": "something-else"}).encode()
        info = tarfile.TarInfo("x/manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(NotABundle, match="format 'something-else'"):
        read_bundle(other)
    proc = labwiz(["inspect", str(text)])
    assert proc.returncode == 2
    assert "is not a labwiz bundle" in proc.stderr and "labwiz bundle" in proc.stderr
    missing = labwiz(["inspect", str(tmp_path / "nope.tar.gz")])
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_inspect_summary_has_remediation_and_docs(tmp_path, labwiz, monkeypatch):
    """Without a TTY, ``inspect`` prints each failed or warned check with what to do and its
    documentation link; passed and skipped checks get neither."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    state = tmp_path / "state"
    _stopped_sandbox_lab(state)
    result = write_bundle(state, out=tmp_path)
    proc = labwiz(["inspect", str(result.path)], env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    flagged = [r for r in read_bundle(result.path).doctor if r["status"] in ("fail", "warn")]
    assert "sandbox" in {r["name"] for r in flagged}
    for r in flagged:
        assert r["remediation"] and r["doc_url"].startswith("https://"), r
        assert f"What to do: {r['remediation']}" in out, r["name"]
        assert f"Docs: {r['doc_url']}" in out, r["name"]
    assert "labwiz sandbox up" in out
    assert out.count("Docs: ") == len(flagged)  # none for the skipped checks
