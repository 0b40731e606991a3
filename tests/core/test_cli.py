"""The CLI surface: version, steps, status, reset, step selection and exit codes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_labwiz

STEPS_ENV = {"LABWIZ_STEPS": "tests.core.engine_steps:STEPS"}


@pytest.fixture
def env(tmp_path, state_dir):
    answers = tmp_path / "a.yaml"
    answers.write_text("api_token: t0k3n-value\n")
    return {**STEPS_ENV, "LABWIZ_TEST_WORKDIR": str(tmp_path / "w"),
            "LABWIZ_STATE_DIR": str(state_dir), "ANSWERS": str(answers)}


def test_version_and_steps():
    assert run_labwiz(["--version"]).stdout.strip() == "labwiz, version 0.1.0"
    lab = run_labwiz(["steps"]).stdout
    ids = ["credentials", "data-upload", "crd-selection", "component-generation", "compile",
           "upload", "run-monitoring", "endpoint-test", "cleanup"]
    listed = [line.split()[1] for line in lab.splitlines() if line.strip()]
    assert listed == ids


def test_every_lab_step_is_real():
    """No lab step is a placeholder any more: none raises NotReadyError."""
    from tests.conftest import ROOT

    for path in (ROOT / "steps").glob("*.py"):
        assert "NotReadyError" not in path.read_text(), path.name


def test_missing_kubeconfig_is_explained(state_dir):
    result = run_labwiz(["--state-dir", str(state_dir), "run", "--yes", "--only", "cleanup"],
                        env={"KUBECONFIG": str(state_dir / "nope"), "HOME": str(state_dir)})
    output = result.stdout + result.stderr
    # cleanup needs the cluster: without a kubeconfig the step fails, says what to do, and
    # exits 5 (a service the lab needs is unusable), as the README says
    assert result.returncode == 5, output
    assert "To resume: labwiz --state-dir" in output
    assert "Kubernetes configuration" in output and "--sandbox" in output
    assert "Traceback" not in output


def test_status_json_and_table(env):
    assert run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env).returncode == 0
    report = json.loads(run_labwiz(["status", "--json"], env=env).stdout)
    assert [s["status"] for s in report["steps"]] == ["done", "done", "done"]
    assert report["resources"]["live"] == 3 and report["serial"] > 0
    table = run_labwiz(["status"], env=env).stdout
    assert "alpha" in table and "done" in table


def test_only_skip_and_from(env):
    result = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"], "--skip", "beta"], env=env)
    assert result.returncode == 0
    report = json.loads(run_labwiz(["status", "--json"], env=env).stdout)
    assert [s["status"] for s in report["steps"]] == ["done", "skipped", "done"]
    result = run_labwiz(["run", "--yes", "--only", "beta"], env=env)
    assert result.returncode == 0
    report = json.loads(run_labwiz(["status", "--json"], env=env).stdout)
    assert report["steps"][1]["status"] == "done"
    # --from re-runs from there on
    result = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"], "--from", "beta"], env=env)
    assert result.returncode == 0
    report = json.loads(run_labwiz(["status", "--json"], env=env).stdout)
    assert [s["attempts"] for s in report["steps"]] == [1, 2, 2]


def test_from_refuses_when_an_earlier_step_is_not_done(env):
    result = run_labwiz(["run", "--yes", "--from", "gamma"], env=env)
    assert result.returncode == 2
    assert "earlier step 'alpha' is pending" in result.stderr


def test_reset_to_step(env):
    assert run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env).returncode == 0
    result = run_labwiz(["reset", "--to", "beta", "--yes"], env=env)
    assert result.returncode == 0 and "beta, gamma" in result.stdout
    report = json.loads(run_labwiz(["status", "--json"], env=env).stdout)
    assert [s["status"] for s in report["steps"]] == ["done", "pending", "pending"]
    assert report["resources"]["live"] == 3, "reset must keep the ledger"


@pytest.mark.parametrize("args, code, words", [
    (["run", "--only", "nope"], 2, "'nope' is not a step"),
    (["run", "--answers", "/does/not/exist.yaml"], 2, "does not exist"),
    (["reset", "--to", "nope", "--yes"], 2, "'nope' is not a step"),
    (["frobnicate"], 2, "No such command"),
])
def test_bad_usage_exit_codes(env, args, code, words):
    result = run_labwiz(args, env=env)
    assert result.returncode == code
    assert words in result.stderr


def test_missing_required_input_names_it(env):
    result = run_labwiz(["run", "--yes"], env=env)
    assert result.returncode == 2
    assert "needs 'api_token'" in result.stderr and "--answers" in result.stderr


def test_invalid_answer_is_reported_and_nothing_lost(env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("api_token: x1234\nuser_name: 'not a name'\n")
    assert run_labwiz(["run", "--yes", "--only", "alpha"], env=env).returncode == 0
    result = run_labwiz(["run", "--yes", "--answers", str(bad)], env=env)
    assert result.returncode == 2
    assert "'user_name' in the answers file is not valid" in result.stderr
    report = json.loads(run_labwiz(["status", "--json"], env=env).stdout)
    assert report["steps"][0]["status"] == "done"


@pytest.mark.parametrize("content", ["[1, 2", "- a\n- b\n", "key: [unclosed"])
def test_broken_answers_files(env, tmp_path, content):
    bad = tmp_path / "broken.yaml"
    bad.write_text(content)
    result = run_labwiz(["run", "--yes", "--answers", str(bad)], env=env)
    assert result.returncode == 2 and "answers file" in result.stderr


def test_explain_touches_nothing(env, state_dir):
    result = run_labwiz(["run", "--explain"], env=env)
    assert result.returncode == 0
    assert "$ touch" in result.stdout
    assert not (state_dir / "state.json").exists()


def test_a_finished_lab_is_reported_complete_not_redone(tmp_path, state_dir):
    env = {"LABWIZ_STEPS": "tests.core.engine_steps:FINISHING", "LABWIZ_STATE_DIR": str(state_dir),
           "LABWIZ_TEST_WORKDIR": str(tmp_path / "w")}
    assert run_labwiz(["run", "--yes"], env=env).returncode == 0
    (tmp_path / "w" / "alpha.txt").unlink()  # what cleanup removes on purpose
    again = run_labwiz(["run", "--yes"], env=env)
    assert again.returncode == 0 and "This lab is complete" in again.stdout
    assert (tmp_path / "w" / "alpha.runs").read_text() == "1"
    assert run_labwiz(["reset", "--yes"], env=env).returncode == 0
    assert run_labwiz(["run", "--yes"], env=env).returncode == 0
    assert (tmp_path / "w" / "alpha.runs").read_text() == "2"
