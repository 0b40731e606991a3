"""The engine's rule for an interrupted teardown: resuming finishes the teardown and does not
rebuild what it had already removed (found when the whole lab was killed during cleanup)."""

from __future__ import annotations

import json

from tests.conftest import run_labwiz


def test_resumed_teardown_does_not_rebuild_the_lab(tmp_path):
    """build runs once; teardown fails half-way, then resumes and finishes; build is not re-run."""
    work = tmp_path / "work"
    env = {"LABWIZ_STEPS": "tests.reliability.reliability_steps:STEPS",
           "LABWIZ_TEST_WORKDIR": str(work), "LABWIZ_STATE_DIR": str(tmp_path / "state")}
    first = run_labwiz(["run", "--yes"], env={**env, "LABWIZ_TEST_FAIL": "teardown"})
    assert first.returncode == 1, first.stdout + first.stderr
    assert not (work / "build.txt").exists()
    second = run_labwiz(["run", "--yes"], env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (work / "build.runs").read_text() == "1"
    assert (work / "teardown.runs").read_text() == "2"
    assert "not re-checked" in second.stdout
    doc = json.loads((tmp_path / "state" / "state.json").read_text())
    assert {k: v["status"] for k, v in doc["steps"].items()} == {"build": "done", "teardown": "done"}
