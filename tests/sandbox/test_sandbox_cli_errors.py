"""What the sandbox CLI says when things are wrong: a port clash, a stale pid, nothing running,
bad fault specs, and the manager's functions on a stopped sandbox."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from sandbox_helpers import clean_env, sandbox_cli

from wizard.sandbox import manager

pytestmark = pytest.mark.timeout(180)


def test_a_port_clash_is_reported_and_leaves_nothing_running(tmp_path):
    state_dir = tmp_path / "state"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = sandbox_cli(state_dir, "up", "--aws-port", str(port))
    assert result.returncode == 5
    assert "in use" in result.stderr and str(port) in result.stderr, result.stderr
    assert not manager.status(state_dir)["running"]


@pytest.mark.parametrize("pace", ["fast", "-1", "3600"])
def test_an_unusable_pace_is_refused_before_anything_starts(tmp_path, pace):
    state_dir = tmp_path / "state"
    result = sandbox_cli(state_dir, "up", env={"LABWIZ_SAGEMAKER_DELAY": pace})
    assert result.returncode == 5
    assert f"LABWIZ_SAGEMAKER_DELAY='{pace}'" in result.stderr, result.stderr
    assert "between 0 and 60" in result.stderr and "unset it" in result.stderr
    assert "Traceback" not in result.stderr
    assert not manager.status(state_dir)["running"]


def test_a_stale_pid_is_not_taken_for_a_running_sandbox(tmp_path):
    state_dir = tmp_path / "state"
    sdir = state_dir / "sandbox"
    sdir.mkdir(parents=True)
    # a live process that is not a sandbox daemon (a recycled pid), then a dead one
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for pid in (other.pid, 999_999):
            doc = {"pid": pid, "phase": "ready", "region": "eu-west-1", "parts": {}}
            (sdir / "runtime.json").write_text(json.dumps(doc))
            (sdir / "sandbox.json").write_text(json.dumps({"pid": pid}))
            result = sandbox_cli(state_dir, "status", "--json")
            assert result.returncode == 5
            status = json.loads(result.stdout)
            assert not status["running"]
            assert any("gone" in p for p in status["problems"]), status["problems"]
            assert manager.read_info(state_dir) is None
            assert manager.down(state_dir) is False
    finally:
        other.kill()
        other.wait()


def test_commands_on_a_stopped_sandbox_say_what_to_do(tmp_path):
    state_dir = tmp_path / "state"
    status = sandbox_cli(state_dir, "status", module="wizard.sandbox.cli")
    assert status.returncode == 5 and "labwiz sandbox up" in status.stdout
    env = sandbox_cli(state_dir, "env", module="wizard.sandbox.cli")
    assert env.returncode == 5 and "labwiz sandbox up" in env.stderr
    down = sandbox_cli(state_dir, "down")
    assert down.returncode == 0 and "was not running" in down.stdout
    with pytest.raises(manager.SandboxError, match="labwiz sandbox up"):
        manager.env(state_dir)


def test_fault_commands_validate_and_persist_for_the_next_start(tmp_path):
    state_dir = tmp_path / "state"
    bad = sandbox_cli(state_dir, "fail", "weather=rain")
    assert bad.returncode == 2 and "throttle=SHARE" in bad.stderr
    nothing = sandbox_cli(state_dir, "fail")
    assert nothing.returncode == 2 and "--clear" in nothing.stderr
    ok = sandbox_cli(state_dir, "fail", "endpoint=failedtoreachinservice", "kube-5xx=0.1")
    assert ok.returncode == 0, ok.stderr
    assert "endpoint=FailedToReachInService" in ok.stdout
    replaced = sandbox_cli(state_dir, "fail", "kube-5xx=0.2")
    assert "kube-5xx=0.2" in replaced.stdout and "kube-5xx=0.1" not in replaced.stdout
    saved = json.loads((state_dir / "sandbox" / "faults.json").read_text())
    assert {f["kind"] for f in saved} == {"endpoint", "kube-5xx"}
    bad_up = sandbox_cli(state_dir, "up", "--fail", "throttle=2")
    assert bad_up.returncode == 2 and "at most 0.5" in bad_up.stderr


def test_the_group_reads_the_parent_state_dir(tmp_path):
    """Mounted under the core CLI, the group uses ``ctx.obj['state_dir']``."""
    state_dir = tmp_path / "from-parent"
    result = subprocess.run(
        [sys.executable, "-c",
         "import click, sys\n"
         "from pathlib import Path\n"
         "from wizard.sandbox.cli import sandbox\n"
         "@click.group()\n"
         "@click.pass_context\n"
         "def cli(ctx):\n"
         f"    ctx.obj = {{'state_dir': Path({str(state_dir)!r})}}\n"
         "cli.add_command(sandbox)\n"
         "cli(['sandbox', 'fail', 'throttle=0.1'])\n"],
        env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (state_dir / "sandbox" / "faults.json").exists()


def test_two_ups_at_once_share_one_daemon(tmp_path):
    state_dir = tmp_path / "state"
    cmd = [sys.executable, "-m", "wizard", "--state-dir", str(state_dir), "sandbox", "up"]
    procs = [subprocess.Popen(cmd, env=clean_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        outs = [p.communicate(timeout=150) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        pid = json.loads((state_dir / "sandbox" / "sandbox.json").read_text())["pid"]
        assert manager.status(state_dir)["pid"] == pid
    finally:
        assert sandbox_cli(state_dir, "down").returncode == 0


def test_labwiz_run_with_an_unusable_sandbox_explains_and_exits_5(tmp_path):
    """`labwiz run --sandbox` turns a sandbox that cannot start into labwiz's own error."""
    env = {**clean_env(), "LABWIZ_SAGEMAKER_DELAY": "fast"}
    result = subprocess.run([sys.executable, "-m", "wizard", "--state-dir", str(tmp_path / "s"),
                             "run", "--sandbox", "--yes"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 5, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "LABWIZ_SAGEMAKER_DELAY" in result.stderr


def test_up_remembers_the_region_it_last_ran_in(tmp_path):
    """A plain `up` after `down` comes back in the sandbox's region, not the default's."""
    state_dir = tmp_path / "state"
    try:
        first = sandbox_cli(state_dir, "up", "--region", "us-west-2", "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["region"] == "us-west-2"
        again = sandbox_cli(state_dir, "up", "--json")  # running: reused as it is
        assert again.returncode == 0 and json.loads(again.stdout)["reused"] is True, again.stderr
        clash = sandbox_cli(state_dir, "up", "--region", "eu-west-1")
        assert clash.returncode == 5 and "running in us-west-2" in clash.stderr
        assert sandbox_cli(state_dir, "down").returncode == 0
        back = sandbox_cli(state_dir, "up", "--json")
        assert back.returncode == 0, back.stderr
        assert json.loads(back.stdout)["region"] == "us-west-2"
        # '--sandbox' on any command starts it, even on one that talks to no service
        assert sandbox_cli(state_dir, "down").returncode == 0
        steps = subprocess.run([sys.executable, "-m", "wizard", "--state-dir", str(state_dir),
                                "--sandbox", "steps"], env=clean_env(), capture_output=True,
                               text=True, timeout=150)
        assert steps.returncode == 0 and "Sandbox started in us-west-2" in steps.stderr, steps
        assert manager.status(state_dir)["running"]
    finally:
        sandbox_cli(state_dir, "down")
