"""The standby run worker (``warm_runs``): started ahead of a run, it runs the run as a worker
started for it would (the run's environment, directory and log), is terminated and stopped with
it, is adopted after a server crash, and is replaced once the run is over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kfp_api.conftest import make_client

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 90


def standbys(runs_root: Path) -> list[int]:
    """Pids of live standby workers for ``runs_root`` (not yet handed a run: their working
    directory is still the runs root)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"--standby" in args and str(runs_root).encode() in args and state != "Z" \
                and cwd == str(runs_root):
            found.append(int(entry.name))
    return found


def wait_for(predicate, what: str, timeout: float = 30):
    """Poll ``predicate`` until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.fixture
def warm_server(tmp_path):
    """A server with a standby worker (as the sandbox started by ``--sandbox`` has)."""
    from wizard.sandbox.kfp_api import KfpApiServer

    server = KfpApiServer(tmp_path / "kfp", run_env={"LABWIZ_KFP_TEST_VAR": "from-run-env"},
                          warm_runs=True).start()
    server.runs.warm_up()
    yield server
    server.stop()


def _task_outputs(url: str, run_id: str) -> dict:
    """{task name: its Output parameter}, from the sandbox's task listing."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/apis/v2beta1/sandbox/runs/{run_id}/tasks") as resp:
        doc = json.load(resp)
    return {t["display_name"]: t["parameters"].get("Output") for t in doc["tasks"]}


def test_the_standby_runs_the_run_as_a_worker_started_for_it(warm_server, pipelines):
    root = warm_server.store.data_dir / "runs"
    (standby,) = wait_for(lambda: standbys(root), "the standby worker")
    client = make_client(warm_server.url)
    run = client.create_run_from_pipeline_package(str(pipelines["env"]), run_name="warm",
                                                  arguments={"name": "KFP_SANDBOX_RUN_ID"})
    done = client.wait_for_run_completion(run.run_id, RUN_TIMEOUT, 0.3)
    assert done.state == "SUCCEEDED", done.error
    run_dir = warm_server.store.run_dir(run.run_id)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["worker_pid"] == standby  # the standby took it, not a new process
    # the task saw the run's own environment, as a worker started for the run passes it on
    assert _task_outputs(warm_server.url, run.run_id)["read-env"] == run.run_id
    assert (run_dir / "worker.log").exists()
    # once the run is over, a new standby waits for the next one
    (replacement,) = wait_for(lambda: standbys(root), "a new standby worker")
    assert replacement != standby
    second = client.create_run_from_pipeline_package(str(pipelines["env"]), run_name="again")
    assert client.wait_for_run_completion(second.run_id, RUN_TIMEOUT, 0.3).state == "SUCCEEDED"
    assert _task_outputs(warm_server.url, second.run_id)["read-env"] == "from-run-env"


def test_terminate_and_stop_end_the_standby_and_its_tasks(warm_server, pipelines):
    root = warm_server.store.data_dir / "runs"
    (standby,) = wait_for(lambda: standbys(root), "the standby worker")
    client = make_client(warm_server.url)
    run = client.create_run_from_pipeline_package(str(pipelines["sleep"]), run_name="long",
                                                  arguments={"seconds": 120})
    log = warm_server.store.run_dir(run.run_id) / "logs"
    wait_for(lambda: any("sleeper started" in p.read_text() for p in log.glob("*.log")),
             "the sleeper task", timeout=60)
    client.terminate_run(run.run_id)
    # (kfp's wait_for_run_completion does not count CANCELED as an end)
    wait_for(lambda: client.get_run(run.run_id).state == "CANCELED", "the run to be CANCELED")
    wait_for(lambda: gone(standby), "the terminated run's worker to exit")
    # every process of its session (the zygote, the sleeping task) went with it
    wait_for(lambda: not _session_members(standby), "the run's processes to exit")
    (waiting,) = wait_for(lambda: standbys(root), "a new standby worker")
    warm_server.stop()
    wait_for(lambda: gone(waiting), "the stopped server's standby to exit")
    wait_for(lambda: not _session_members(waiting), "the standby's zygote to exit")


def _session_members(sid: int) -> list[int]:
    """Live processes of session ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_a_restarted_server_adopts_a_run_its_standby_took(tmp_path, pipelines):
    """The run's worker is told by its working directory (its command line names no run): a
    server SIGKILLed mid-run and started again follows the run to its end."""
    from wizard.sandbox.kfp_api import KfpApiServer

    data = tmp_path / "kfp"
    code = ("import sys, time; from pathlib import Path; "
            "from wizard.sandbox.kfp_api import KfpApiServer; "
            "s = KfpApiServer(Path(sys.argv[1]), warm_runs=True).start(); s.runs.warm_up(); "
            "print(s.url, flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(data)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        url = proc.stdout.readline().strip()
        (standby,) = wait_for(lambda: standbys(data / "runs"), "the standby worker")
        client = make_client(url)
        run = client.create_run_from_pipeline_package(str(pipelines["sleep"]),
                                                      arguments={"seconds": 3}, run_name="orphan")
        wait_for(lambda: os.readlink(f"/proc/{standby}/cwd") == str(data / "runs" / run.run_id),
                 "the standby to take the run")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    server = KfpApiServer(data).start()
    try:
        done = make_client(server.url).wait_for_run_completion(run.run_id, RUN_TIMEOUT, 0.3)
        assert done.state == "SUCCEEDED", done.error
    finally:
        server.stop()
    wait_for(lambda: gone(standby), "the adopted worker to exit")
