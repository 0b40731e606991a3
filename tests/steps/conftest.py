"""Fixtures for the lab steps' tests: one real sandbox per test module, a fresh lab per test.

Each lab gets its own state directory whose ``sandbox`` entry links to the module's sandbox, so
labs are isolated in state while sharing the (slow to start) sandbox processes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_labwiz


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    """A running sandbox for the module; stopped afterwards."""
    home = tmp_path_factory.mktemp("sandbox-home")
    result = run_labwiz(["--state-dir", str(home), "sandbox", "up"], timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    yield home
    run_labwiz(["--state-dir", str(home), "sandbox", "down"], timeout=120)


@pytest.fixture
def sandbox_info(sandbox_home) -> dict:
    """The module sandbox's ``sandbox.json``."""
    return json.loads((sandbox_home / "sandbox" / "sandbox.json").read_text())


@pytest.fixture
def lab(tmp_path, sandbox_home) -> Path:
    """A new lab's state directory attached to the module's sandbox."""
    state = tmp_path / "lab"
    state.mkdir(mode=0o700)
    os.symlink(sandbox_home / "sandbox", state / "sandbox")
    return state


@pytest.fixture
def aws(sandbox_info):
    """A boto3 client factory on the sandbox."""
    import boto3

    def client(service, region=None):
        return boto3.client(service, endpoint_url=sandbox_info["services"]["aws"]["url"],
                            region_name=region or sandbox_info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return client


@pytest.fixture
def kube(sandbox_info):
    """A kubernetes ApiClient on the sandbox (admin)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=sandbox_info["kubeconfig"], client_configuration=configuration)
    return client.ApiClient(configuration)


def run_lab(lab: Path, *args, answers: dict | None = None, yes: bool = True, timeout: float = 300):
    """``labwiz --state-dir LAB run --sandbox ...`` with an optional answers dict."""
    argv = ["--state-dir", str(lab), "run", "--sandbox"]
    if yes:
        argv.append("--yes")
    if answers is not None:
        path = lab.parent / "answers.json"
        path.write_text(json.dumps(answers))
        argv += ["--answers", str(path)]
    return run_labwiz(argv + list(args), timeout=timeout)


def commands(lab: Path, step: str) -> str:
    """Every command a step ran, whole and runnable (``commands/STEP.sh``; the screen shows them
    short, and names this file)."""
    return (lab / "commands" / f"{step}.sh").read_text()


def state(lab: Path) -> dict:
    """The lab's state document."""
    return json.loads((lab / "state.json").read_text())
