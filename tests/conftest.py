"""Shared fixtures: an isolated state directory and a way to run the real ``labwiz`` CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: each test module's worker seconds (setup + call + teardown of its tests) in the last measured
#: suite run, written by bench/bench_suite.py (``make bench-suite``)
MODULE_SECONDS = Path(__file__).resolve().parent / "module_seconds.json"


def pytest_collection_modifyitems(config, items):
    """Longest modules first: ``make test`` hands out whole modules (``--dist loadfile
    --no-loadscope-reorder``) in collection order, so a long module collected last would run
    alone at the end while the other worker idles. Modules keep their tests' order (some read
    what an earlier test of theirs left); a module not in the file (a new one) goes last, in
    collection order, as it is most likely short."""
    try:
        seconds = json.loads(MODULE_SECONDS.read_text())
    except (OSError, ValueError):
        return
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::", 1)[0], index)

    def weight(item):
        """(minus the module's seconds, its first position): a stable, deterministic order,
        the same on every xdist worker."""
        module = item.nodeid.split("::", 1)[0]
        return (-float(seconds.get(module, 0.0)), first_seen[module])
    items.sort(key=weight)


def pytest_runtest_setup(item):
    """``@pytest.mark.tools("kubectl", ...)``: the test drives these real CLIs. A missing one
    fails the test with its name (make test installs them, see .ci/tools); never a skip."""
    for mark in item.iter_markers("tools"):
        missing = [name for name in mark.args if shutil.which(name) is None]
        if missing:
            pytest.fail(f"{', '.join(missing)} not on PATH: this test drives the real CLI; "
                        "'make test' installs it or names what to install (.ci/tools)",
                        pytrace=False)


@pytest.fixture
def state_dir(tmp_path) -> Path:
    """A fresh, private state directory for one test."""
    return tmp_path / "state"


#: the controllable test steps (tests/core/engine_steps.py), selected with LABWIZ_STEPS
ENGINE_STEPS = "tests.core.engine_steps:STEPS"


@pytest.fixture
def env(tmp_path, state_dir):
    """Environment selecting the controllable test steps, with an answers file for their one
    secret (gamma's api_token)."""
    answers = tmp_path / "answers.yaml"
    answers.write_text("api_token: tok-canary-000111\n")
    return {"LABWIZ_STEPS": ENGINE_STEPS, "LABWIZ_TEST_WORKDIR": str(tmp_path / "work"),
            "LABWIZ_STATE_DIR": str(state_dir), "ANSWERS": str(answers)}


def labwiz_env(extra: dict | None = None) -> dict:
    """The environment for a labwiz subprocess: no host config leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABWIZ_", "AWS_", "KUBECONFIG"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def run_labwiz(args: list[str], *, env: dict | None = None, timeout: float = 120,
               input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m wizard`` with ``args``; return the completed process (text mode).

    The process is forked from this worker's launcher (see :mod:`tests.launcher`), which has
    the heavy libraries imported already: the same ``python -m wizard`` with the same argv,
    environment, working directory, stdin and exit code, without a second of imports each time.
    A call with ``input``, or one the launcher cannot serve, runs in a plain interpreter."""
    from tests.launcher import run_forked

    full_env = labwiz_env(env)
    forked = None if input is not None else run_forked(args, full_env, cwd=ROOT, timeout=timeout)
    if forked is not None:
        return forked
    return subprocess.run([sys.executable, "-m", "wizard", *args], env=full_env,
                          capture_output=True, text=True, timeout=timeout, input=input,
                          cwd=ROOT)


@pytest.fixture
def labwiz():
    """The :func:`run_labwiz` helper as a fixture."""
    return run_labwiz


@pytest.fixture(scope="module", autouse=True)
def _reset_in_process_moto():
    """moto keeps its state in module globals: tests that run moto in the pytest process would
    otherwise see the objects an earlier module created. Reset after every module that loaded it."""
    yield
    import sys

    if "moto" in sys.modules:
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
