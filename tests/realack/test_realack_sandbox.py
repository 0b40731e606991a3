"""`labwiz sandbox up --ack real`: the real controller as the daemon's child, seen from outside
(status, its process, its log), paused by scaling its Deployment, and never left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from realack_harness import SHARED_CRDS, availability
from wizard.sandbox import manager

pytestmark = pytest.mark.timeout(600)


def _alive(pid: int | None) -> bool:
    """Whether ``pid`` runs (and is not a zombie)."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(what: str, probe, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def real_sandbox(tmp_path_factory):
    """A sandbox daemon started with --ack real (one per module)."""
    binary, crds, why = availability()
    if binary is None:
        pytest.skip(f"real ACK controller tests skipped: {why}")
    os.environ.setdefault("LABWIZ_ACK_CRDS", str(crds))
    state = tmp_path_factory.mktemp("real-sandbox")
    try:
        info = manager.up(state, ack="real", timeout=240)
        yield state, info
    finally:
        manager.down(state)


def _controller(state: Path) -> dict:
    return manager.status(state)["services"]["ack"].get("controller") or {}


def test_status_shows_the_real_controller(real_sandbox):
    """status: the ack part is the real controller, healthy, with its pid and log."""
    state, info = real_sandbox
    st = manager.status(state)
    assert st["ack"] == "real" and st["healthy"], st["problems"]
    ctl = _controller(state)
    assert ctl["kind"] == "real" and _alive(ctl["pid"])
    log = Path(ctl["log"]).read_text()
    assert "starting manager" in log and "--enable-carm=false" in log
    assert "--aws-endpoint-url=" + info.url("aws") in log
    # the real CRDs are what the cluster serves: the real finalizer-bearing kinds, all 26
    env = dict(os.environ, **manager.env(state))
    names = subprocess.run(["kubectl", "get", "crd", "-o", "name"], env=env, capture_output=True,
                           text=True, check=True).stdout.split()
    assert len([n for n in names if n.endswith(".sagemaker.services.k8s.aws")]) == \
        len(list(Path(os.environ["LABWIZ_ACK_CRDS"]).glob("sagemaker.services.k8s.aws_*")))


def test_other_controller_asked_of_a_running_sandbox_is_refused(real_sandbox):
    """up --ack builtin on a sandbox running the real one says to stop it first."""
    state, _ = real_sandbox
    with pytest.raises(manager.SandboxError, match="running with the real ACK controller"):
        manager.up(state, ack="builtin")
    assert manager.up(state).reused  # no --ack: reuse whatever runs


def test_scaling_the_deployment_stops_and_restarts_the_process(real_sandbox):
    """kubectl scale --replicas=0 ends the controller's process; 1 starts a new one."""
    state, _ = real_sandbox
    env = dict(os.environ, **manager.env(state))
    first = _controller(state)["pid"]

    def scale(n: int) -> None:
        subprocess.run(["kubectl", "scale", "deployment/ack-sagemaker-controller", "-n",
                        "ack-system", f"--replicas={n}"], env=env, check=True,
                       capture_output=True)
    scale(0)
    _wait("the controller process to end", lambda: not _alive(first))
    scale(1)
    second = _wait("a new controller process",
                   lambda: (lambda p: p if p and p != first and _alive(p) else None)(
                       _controller(state).get("pid")))
    _wait("the sandbox to be healthy again", lambda: manager.status(state)["healthy"], 90)
    assert _alive(second)


def test_a_killed_daemon_leaves_no_controller_behind(tmp_path):
    """SIGKILL the daemon: its controller outlives it, and `down` stops it."""
    binary, crds, why = availability()
    if binary is None:
        pytest.skip(f"real ACK controller tests skipped: {why}")
    os.environ.setdefault("LABWIZ_ACK_CRDS", str(crds or SHARED_CRDS))
    state = tmp_path / "state"
    info = manager.up(state, ack="real", timeout=240)
    pid = _controller(state)["pid"]
    assert _alive(pid)
    os.kill(info.pid, signal.SIGKILL)
    _wait("the daemon to die", lambda: not _alive(info.pid))
    assert _alive(pid)  # orphaned, as a container would be without its kubelet
    manager.down(state)
    _wait("the orphaned controller to be stopped", lambda: not _alive(pid), 30)
    pidfile = state / "sandbox" / "ack-real" / "controller.pid"
    assert not pidfile.exists(), json.loads(pidfile.read_text())
