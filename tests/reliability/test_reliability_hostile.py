"""Hostile and honest: hand-edited state of the wrong types, answers files with YAML alias bombs,
a --state-dir that belongs to something else, Ctrl-C at a chosen moment, a step whose process
died shown as interrupted, the resume command keeping the run's choices, and file modes.

These run the real CLI as a process with the engine's controllable test steps
(``tests/core/engine_steps.py``), so they need no sandbox and take seconds.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, labwiz_env, run_labwiz


def _done_lab(env, state_dir) -> dict:
    """A finished test lab's state document."""
    result = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((state_dir / "state.json").read_text())


def _edit(doc: dict, path: str, value):
    """``doc`` with the value at a dotted path (list indexes as numbers) replaced."""
    doc = json.loads(json.dumps(doc))
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


# (case, dotted path, bad value, words the message must contain)
BAD_STATE = [
    ("attempts-string", "steps.alpha.attempts", "x", "step 'alpha', field 'attempts'"),
    ("ledger-row-string", "ledger.0", "a string row", "ledger row 1 should be an object"),
    ("ledger-name-number", "ledger.0.name", 7, "ledger row 1, field 'name'"),
    ("target-string", "target", "eu-west-1", "field 'target' should be an object"),
    ("outputs-list", "steps.beta.outputs", [1, 2], "step 'beta', field 'outputs'"),
    ("error-string", "steps.beta.error", "boom", "step 'beta', field 'error'"),
    ("details-list", "ledger.0.details", ["x"], "ledger row 1, field 'details'"),
    ("status-list", "steps.alpha.status", ["done"], "step 'alpha' has status"),
]


@pytest.mark.parametrize("case,path,value,words", BAD_STATE, ids=[c[0] for c in BAD_STATE])
def test_hand_edited_state_of_wrong_types_exits_3_with_the_path(env, state_dir, case, path,
                                                                 value, words):
    """Every command that reads the state refuses it: exit 3, the file's path, the field, no
    traceback, and the file left exactly as it was."""
    doc = _done_lab(env, state_dir)
    state = state_dir / "state.json"
    state.write_text(json.dumps(_edit(doc, path, value)))
    before = state.read_bytes()
    for args in (["status"], ["run", "--yes", "--answers", env["ANSWERS"]], ["reset", "--yes"]):
        result = run_labwiz(args, env=env)
        output = result.stdout + result.stderr
        assert result.returncode == 3, (args, output)
        assert str(state) in output and words in output, output
        assert "Traceback" not in output
    assert state.read_bytes() == before


def _bomb(levels: int = 9) -> str:
    """A "billion laughs" YAML document: each level repeats the previous one nine times."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        refs = ",".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\napi_token: tok\n"


def test_answers_file_with_an_alias_bomb_is_refused_fast(env, tmp_path, state_dir):
    """Refused with exit 2 and a short message naming the file and line, before anything is
    built from it; no value is echoed; no state is written."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb())
    started = time.monotonic()
    result = run_labwiz(["run", "--yes", "--answers", str(bomb)], env=env, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "uses a YAML anchor or alias" in output and str(bomb) in output
    assert "lol" not in output and "Traceback" not in output
    assert len(output) < 600, output
    assert not (state_dir / "state.json").exists()
    # "fast" is not timed here (timings live in bench/); the bound only catches an expansion
    assert time.monotonic() - started < 60


def test_answers_file_with_a_huge_broken_value_is_not_echoed(env, tmp_path):
    """A YAML syntax error on a long line: the message is shortened, never the value whole."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("api_token: \"" + "z" * 5000 + "\n: [\n")
    result = run_labwiz(["run", "--yes", "--answers", str(bad)], env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "not valid YAML/JSON" in output and "z" * 300 not in output


def test_state_dir_that_is_not_a_labwiz_dir_is_refused_not_chmoded(env, tmp_path):
    """An existing directory holding other files is refused (exit 2) and keeps its mode."""
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "thesis.txt").write_text("years of work")
    for args in (["--state-dir", str(home), "run", "--yes"], ["--state-dir", str(home), "status"]):
        result = run_labwiz(args, env={k: v for k, v in env.items() if k != "LABWIZ_STATE_DIR"})
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert f"{home} is not a labwiz state directory" in output
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert sorted(p.name for p in home.iterdir()) == ["thesis.txt"]
    # through the environment variable too
    result = run_labwiz(["run", "--yes"], env={**env, "LABWIZ_STATE_DIR": str(home)})
    assert result.returncode == 2 and "not a labwiz state directory" in result.stdout + result.stderr


def _start(env, *args, ticks=200):
    """``labwiz run`` as a process whose step beta works for ``ticks`` × 0.2 s."""
    return subprocess.Popen([sys.executable, "-m", "wizard", "run", "--yes", "--answers",
                             env["ANSWERS"], *args],
                            env=labwiz_env({**env, "LABWIZ_TEST_TICKS": str(ticks)}), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_ctrl_c_mid_step_exits_130_with_the_resume_command(env, state_dir):
    """SIGINT while a step works: exit 130, the step recorded as interrupted, the resume
    command printed with the run's choices, no traceback; status says interrupted."""
    proc = _start(env, "--skip", "gamma")
    _wait_for((Path(env["LABWIZ_TEST_WORKDIR"]) / "beta.tick").exists)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert f"To resume: labwiz --state-dir {state_dir} run --answers {env['ANSWERS']} --yes " \
           "--skip gamma" in out + err, out + err
    status = run_labwiz(["status", "--json"], env=env)
    rows = {r["id"]: r["status"] for r in json.loads(status.stdout)["steps"]}
    assert rows["beta"] == "interrupted", rows


def test_ctrl_c_between_steps_and_at_start_exits_130(env, state_dir):
    """SIGINT at the very start (before any step) also ends with 130 and no traceback."""
    proc = _start(env, ticks=1)
    _wait_for(lambda: (state_dir / "state.lock").exists() or proc.poll() is not None, 60)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), out + err  # it may have finished first: then 0
    assert "Traceback" not in out + err


def test_killed_step_shows_as_interrupted_not_running(env, state_dir):
    """SIGKILL mid-step leaves 'running' in the file; status shows 'interrupted'."""
    proc = _start(env)
    _wait_for((Path(env["LABWIZ_TEST_WORKDIR"]) / "beta.tick").exists)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    doc = json.loads((state_dir / "state.json").read_text())
    assert doc["steps"]["beta"]["status"] == "running"
    status = run_labwiz(["status", "--json"], env=env)
    rows = {r["id"]: r["status"] for r in json.loads(status.stdout)["steps"]}
    assert rows["beta"] == "interrupted" and rows["alpha"] == "done", rows
    table = run_labwiz(["status"], env=env)
    assert "interrupted" in table.stdout and "running" not in table.stdout


def test_failed_run_prints_a_resume_command_keeping_the_choices(env, state_dir, tmp_path):
    """--yes, --skip, the state directory and the region survive into the resume command."""
    result = run_labwiz(["--state-dir", str(state_dir), "run", "--yes", "--region", "eu-west-2",
                         "--answers", env["ANSWERS"], "--skip", "gamma"],
                        env={**env, "LABWIZ_TEST_FAIL": "beta"})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert (f"To resume: labwiz --state-dir {state_dir} run --region eu-west-2 --answers "
            f"{env['ANSWERS']} --yes --skip gamma") in output, output


def test_every_file_is_private(env, state_dir):
    """Files 0600 and directories 0700, commands/ included."""
    _done_lab(env, state_dir)
    for path in [state_dir, *state_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_region_given_after_a_failed_first_attempt_is_honoured(tmp_path):
    """Attempt 1 fails (no AWS credentials) with the region only defaulted from AWS_REGION; the
    region given on the next attempt (--region or AWS_REGION) is the one used, not the old
    default kept as if chosen. The resume command names the region."""
    lab = tmp_path / "lab"
    no_aws = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
              "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    first = run_labwiz(["--state-dir", str(lab), "run", "--yes", "--only", "credentials"],
                       env={**no_aws, "AWS_REGION": "us-east-1"})
    assert first.returncode == 5, first.stdout + first.stderr
    assert f"To resume: labwiz --state-dir {lab} run --region us-east-1 --yes --only credentials" \
        in first.stdout
    doc = json.loads((lab / "state.json").read_text())
    assert doc["inputs"]["region"] == "us-east-1" and doc["input_sources"]["region"] == "default"
    for how, env, args in (("env", {"AWS_REGION": "eu-west-2"}, []),
                           ("flag", {}, ["--region", "ap-south-1"])):
        again = run_labwiz(["--state-dir", str(lab), "run", "--yes", *args, "--only",
                            "credentials"], env={**no_aws, **env})
        assert again.returncode == 5, again.stdout + again.stderr
        wanted = env.get("AWS_REGION") or args[-1]
        doc = json.loads((lab / "state.json").read_text())
        assert doc["inputs"]["region"] == wanted, (how, doc["inputs"])
        assert doc["target"]["region"] == wanted, (how, doc["target"])
