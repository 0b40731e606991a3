"""The engine with real processes: kill -9 mid-step, two concurrent runs, verify-driven repair."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, labwiz_env, run_labwiz


def _runs(env, step_id) -> int:
    path = Path(env["LABWIZ_TEST_WORKDIR"]) / f"{step_id}.runs"
    return int(path.read_text()) if path.exists() else 0


def _start(env, *args, ticks=1):
    return subprocess.Popen([sys.executable, "-m", "wizard", "run", "--yes",
                             "--answers", env["ANSWERS"], *args],
                            env=labwiz_env({**env, "LABWIZ_TEST_TICKS": str(ticks)}), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _state(state_dir) -> dict:
    return json.loads((Path(state_dir) / "state.json").read_text())


def test_kill9_mid_step_resumes_at_that_step(env, state_dir):
    proc = _start(env, ticks=200)  # beta takes ~40 s unless killed
    tick = Path(env["LABWIZ_TEST_WORKDIR"]) / "beta.tick"
    _wait_for(tick.exists)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    doc = _state(state_dir)  # readable JSON after a SIGKILL
    assert doc["steps"]["alpha"]["status"] == "done"
    assert doc["steps"]["beta"]["status"] == "running"
    assert _runs(env, "alpha") == 1

    result = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]],
                        env={**env, "LABWIZ_TEST_TICKS": "1"})
    assert result.returncode == 0, result.stderr + result.stdout
    doc = _state(state_dir)
    assert [doc["steps"][s]["status"] for s in ("alpha", "beta", "gamma")] == ["done"] * 3
    assert _runs(env, "alpha") == 1, "finished work was repeated"
    assert doc["steps"]["beta"]["attempts"] == 2
    events = [json.loads(line)["event"] for line in
              (Path(state_dir) / "events.jsonl").read_text().splitlines()]
    assert "step.interrupted" in events


def test_second_concurrent_run_refuses_and_names_holder(env, state_dir):
    proc = _start(env, ticks=100)
    try:
        _wait_for((Path(env["LABWIZ_TEST_WORKDIR"]) / "beta.tick").exists)
        second = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env)
        assert second.returncode == 4
        assert f"pid {proc.pid}" in second.stderr
        assert "What to do" in second.stderr
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_stale_lock_is_taken_over_with_a_warning(env, state_dir):
    state_dir.mkdir(parents=True)
    (state_dir / "state.lock").write_text(json.dumps(
        {"pid": 999999, "host": "elsewhere", "started_at": "2026-01-01T00:00:00Z",
         "command": "labwiz run"}))
    result = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env)
    assert result.returncode == 0, result.stderr
    assert "stale lock" in result.stdout and "999999" in result.stdout


def test_deleted_resource_fails_verify_and_step_runs_again(env, state_dir):
    assert run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env).returncode == 0
    Path(env["LABWIZ_TEST_WORKDIR"], "alpha.txt").unlink()
    result = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env)
    assert result.returncode == 0
    assert "no longer holds (the file is gone)" in result.stdout
    assert _runs(env, "alpha") == 2 and _runs(env, "beta") == 1
    assert Path(env["LABWIZ_TEST_WORKDIR"], "alpha.txt").exists()


def test_failed_step_prints_resume_command_and_resume_works(env, state_dir):
    result = run_labwiz(["--state-dir", str(state_dir), "run", "--yes", "--answers", env["ANSWERS"]],
                        env={**env, "LABWIZ_TEST_FAIL": "beta"})
    assert result.returncode == 1
    assert "beta was told to fail" in result.stdout
    assert f"To resume: labwiz --state-dir {state_dir} run --answers {env['ANSWERS']}" in result.stdout
    doc = _state(state_dir)
    assert doc["steps"]["beta"]["error"]["type"] == "StepError"
    assert doc["steps"]["beta"]["error"]["remediation"] == "unset LABWIZ_TEST_FAIL"
    again = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env)
    assert again.returncode == 0 and _runs(env, "alpha") == 1


def test_canary_secret_never_written_or_shown(env, state_dir):
    canary = "tok-canary-000111"
    result = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env)
    assert result.returncode == 0, result.stderr
    assert canary not in result.stdout + result.stderr
    for name in ("state.json", "state.json.backup", "events.jsonl", "labwiz.log"):
        path = state_dir / name
        if path.exists():
            assert canary not in path.read_text(), f"secret leaked into {name}"
    for path in (state_dir / "commands").glob("*.sh"):
        assert canary not in path.read_text()
    assert "********" in result.stdout  # it was shown, masked
    assert "api_token" not in _state(state_dir)["inputs"]
    assert _state(state_dir)["inputs"]["user_name"] == "learner"


def test_files_are_private(env, state_dir):
    assert run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env).returncode == 0
    assert (state_dir.stat().st_mode & 0o777) == 0o700
    for name in ("state.json", "state.json.backup", "events.jsonl", "labwiz.log", "state.lock"):
        assert ((state_dir / name).stat().st_mode & 0o777) == 0o600, name
