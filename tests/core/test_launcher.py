"""The suite's launcher (``tests/launcher.py``) runs labwiz as a fresh interpreter does.

Most tests run the CLI through :func:`tests.conftest.run_labwiz`, which forks it from a
preloaded launcher; these tests hold the forked runs against plain ``python -m wizard``
processes (``LABWIZ_TEST_FORK=0``) on the same inputs: exit codes (a usage error, a failure, a
SIGKILL), both output streams, and a timeout.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT, labwiz_env, run_labwiz
from tests.launcher import run_forked


def _both(monkeypatch, tmp_path, args, env_of):
    """The same call made plain and forked, each with its own state (``env_of(dir)``)."""
    results = {}
    for mode in ("plain", "forked"):
        if mode == "plain":
            monkeypatch.setenv("LABWIZ_TEST_FORK", "0")
        else:
            monkeypatch.delenv("LABWIZ_TEST_FORK", raising=False)
        state = tmp_path / mode
        results[mode] = run_labwiz(args, env=env_of(state))
    return results["plain"], results["forked"]


def _same(text: str, tmp_path) -> str:
    """Output with what differs between two labs by nature taken out: their directories,
    lineages, process ids, clock times and the durations printed."""
    text = text.replace(str(tmp_path / "plain"), "<lab>").replace(str(tmp_path / "forked"), "<lab>")
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z?", "<time>", text)
    text = re.sub(r"\bpid \d+", "pid <pid>", text)
    return re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "<t>", text)


def test_the_launcher_serves_the_calls():
    """The speed path is live: a default call is forked, not silently run plain."""
    result = run_forked(["--version"], labwiz_env(), cwd=ROOT, timeout=60)
    assert result is not None, "the launcher did not fork (a preload starting a thread?)"
    assert result.returncode == 0 and "labwiz" in result.stdout


@pytest.mark.parametrize("args", [["--version"], ["--no-such-option"], ["status", "--json"],
                                  ["reset", "--to", "no-such-step", "--yes"]])
def test_cli_answers_match_a_fresh_interpreter(monkeypatch, tmp_path, args):
    """Exit code, stdout and stderr are the same, byte for byte, usage errors included."""
    plain, forked = _both(monkeypatch, tmp_path, args,
                          lambda state: {"LABWIZ_STATE_DIR": str(state)})
    assert (forked.returncode, _same(forked.stdout, tmp_path), _same(forked.stderr, tmp_path)) == \
        (plain.returncode, _same(plain.stdout, tmp_path), _same(plain.stderr, tmp_path))


def test_a_lab_run_and_a_kill_match_a_fresh_interpreter(monkeypatch, tmp_path, env):
    """A run of the test steps, and one that SIGKILLs itself (-9, as subprocess reports it)."""
    def env_of(state, crash=None):
        extra = {**env, "LABWIZ_STATE_DIR": str(state),
                 "LABWIZ_TEST_WORKDIR": str(state.parent / (state.name + "-work"))}
        return {**extra, "LABWIZ_TEST_KILL": crash} if crash else extra

    args = ["run", "--yes", "--answers", env["ANSWERS"]]
    killed = _both(monkeypatch, tmp_path, args, lambda s: env_of(s, "alpha"))
    assert [r.returncode for r in killed] == [-9, -9]
    assert _same(killed[0].stdout, tmp_path) == _same(killed[1].stdout, tmp_path)
    resumed = _both(monkeypatch, tmp_path, args, env_of)
    assert [r.returncode for r in resumed] == [0, 0], resumed[1].stdout + resumed[1].stderr
    assert _same(resumed[0].stdout, tmp_path) == _same(resumed[1].stdout, tmp_path)
    assert _same(resumed[0].stderr, tmp_path) == _same(resumed[1].stderr, tmp_path)


def test_a_timeout_kills_the_child_and_keeps_its_output(env):
    """As :func:`subprocess.run`: TimeoutExpired with what was printed, and the child is gone
    (the lab's lock is free for the next run)."""
    slow = {**env, "LABWIZ_TEST_TICKS": "300"}
    with pytest.raises(subprocess.TimeoutExpired) as caught:
        run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=slow, timeout=3)
    assert "Alpha" in (caught.value.output or "")
    after = run_labwiz(["run", "--yes", "--answers", env["ANSWERS"]], env=env)
    assert after.returncode == 0, after.stdout + after.stderr
