"""Terminate, retry, stop/start persistence, and a server SIGKILLed in the middle of a run."""

from __future__ import annotations

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


def wait_state(client, run_id: str, states: tuple[str, ...], timeout: float = 60) -> object:
    """Poll a run until its state is one of ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get_run(run_id)
        if run.state in states:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} stayed {run.state}, wanted {states}")


def wait_task_running(client, run_id: str, timeout: float = 60) -> None:
    """Poll until some task of the run is RUNNING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        details = client.get_run(run_id).run_details
        if any(t.state == "RUNNING" for t in (details.task_details or [])):
            return
        time.sleep(0.2)
    raise AssertionError("no task started")


def pids_of_run(run_id: str) -> list[int]:
    """Live processes whose command line or environment names the run (worker + tasks)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if run_id.encode() in blob and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def server_factory(tmp_path):
    """Start servers on one data directory; stops whatever is left at the end."""
    from wizard.sandbox.kfp_api import KfpApiServer

    started = []

    def start():
        server = KfpApiServer(tmp_path / "kfp").start()
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop()


def test_terminate_kills_the_process_group_and_cancels(server_factory, pipelines):
    server = server_factory()
    client = make_client(server.url)
    run = client.create_run_from_pipeline_package(str(pipelines["sleep"]), run_name="long",
                                                  arguments={"seconds": 120})
    wait_task_running(client, run.run_id)
    assert pids_of_run(run.run_id), "the worker and task processes should be alive"
    client.terminate_run(run.run_id)
    done = wait_state(client, run.run_id, ("CANCELED",))
    assert [t.state for t in done.run_details.task_details] == ["CANCELED"]
    assert "CANCELING" in [h.state for h in done.state_history]
    deadline = time.monotonic() + 10
    while pids_of_run(run.run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pids_of_run(run.run_id) == []
    with pytest.raises(Exception) as exc:
        client.terminate_run(run.run_id)
    assert exc.value.status == 400

    # retry runs it again from the start
    client.runs.run_service_retry_run(run_id=run.run_id)
    wait_task_running(client, run.run_id)
    client.terminate_run(run.run_id)
    wait_state(client, run.run_id, ("CANCELED",))


def test_stop_and_start_keep_every_object(server_factory, pipelines):
    server = server_factory()
    client = make_client(server.url)
    pipeline = client.upload_pipeline(str(pipelines["sum"]), pipeline_name="kept")
    version = client.upload_pipeline_version(str(pipelines["sum"]), "kept-v2",
                                             pipeline_id=pipeline.pipeline_id)
    experiment = client.create_experiment("kept-exp")
    done_run = client.run_pipeline(experiment.experiment_id, "kept-run",
                                   pipeline_id=pipeline.pipeline_id,
                                   version_id=version.pipeline_version_id)
    client.wait_for_run_completion(done_run.run_id, RUN_TIMEOUT, 0.3)
    live_run = client.create_run_from_pipeline_package(
        str(pipelines["sleep"]), arguments={"seconds": 120}, run_name="interrupted")
    wait_task_running(client, live_run.run_id)
    server.stop()
    assert pids_of_run(live_run.run_id) == []

    server = server_factory()
    client = make_client(server.url)
    assert client.get_pipeline_id("kept") == pipeline.pipeline_id
    assert client.get_pipeline_version(pipeline.pipeline_id,
                                       version.pipeline_version_id).display_name == "kept-v2"
    assert client.get_experiment(experiment_name="kept-exp").experiment_id == \
        experiment.experiment_id
    kept = client.get_run(done_run.run_id)
    assert kept.state == "SUCCEEDED"
    assert {t.display_name for t in kept.run_details.task_details} == {"add", "describe"}
    stopped = client.get_run(live_run.run_id)
    assert stopped.state == "FAILED"
    assert "stopped while this run was in progress" in stopped.error.message


def _spawn_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """A server in its own process, so the test can SIGKILL it."""
    code = ("import sys, time; from pathlib import Path; "
            "from wizard.sandbox.kfp_api import KfpApiServer; "
            "s = KfpApiServer(Path(sys.argv[1])).start(); print(s.url, flush=True); "
            "time.sleep(600)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(data_dir)], env=env,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    return proc, proc.stdout.readline().strip()


def test_sigkilled_server_adopts_a_surviving_worker(tmp_path, pipelines):
    from wizard.sandbox.kfp_api import KfpApiServer

    proc, url = _spawn_server(tmp_path / "kfp")
    try:
        client = make_client(url)
        run = client.create_run_from_pipeline_package(str(pipelines["sleep"]),
                                                      arguments={"seconds": 3}, run_name="orphan")
        wait_task_running(client, run.run_id)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    server = KfpApiServer(tmp_path / "kfp").start()
    try:
        client = make_client(server.url)
        done = client.wait_for_run_completion(run.run_id, RUN_TIMEOUT, 0.3)
        assert done.state == "SUCCEEDED", done.error
    finally:
        server.stop()


def test_sigkilled_server_with_dead_worker_marks_the_run_failed(tmp_path, pipelines):
    from wizard.sandbox.kfp_api import KfpApiServer

    proc, url = _spawn_server(tmp_path / "kfp")
    try:
        client = make_client(url)
        run = client.create_run_from_pipeline_package(str(pipelines["sleep"]),
                                                      arguments={"seconds": 120}, run_name="lost")
        wait_task_running(client, run.run_id)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    for pid in pids_of_run(run.run_id):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 120  # SIGKILL is delivered asynchronously: wait until gone
    while pids_of_run(run.run_id):
        assert time.monotonic() < deadline, f"still alive: {pids_of_run(run.run_id)}"
        time.sleep(0.1)
    server = KfpApiServer(tmp_path / "kfp").start()
    try:
        lost = make_client(server.url).get_run(run.run_id)
        assert lost.state == "FAILED"
        assert "worker is gone" in lost.error.message
        assert [t.state for t in lost.run_details.task_details] == ["FAILED"]
    finally:
        server.stop()


def test_stop_also_kills_an_adopted_worker(tmp_path, pipelines):
    from wizard.sandbox.kfp_api import KfpApiServer

    proc, url = _spawn_server(tmp_path / "kfp")
    try:
        client = make_client(url)
        run = client.create_run_from_pipeline_package(str(pipelines["sleep"]),
                                                      arguments={"seconds": 120}, run_name="adopt")
        wait_task_running(client, run.run_id)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    server = KfpApiServer(tmp_path / "kfp").start()
    try:
        assert make_client(server.url).get_run(run.run_id).state == "RUNNING"
    finally:
        server.stop()
    assert pids_of_run(run.run_id) == []
    server = KfpApiServer(tmp_path / "kfp").start()
    try:
        ended = make_client(server.url).get_run(run.run_id)
        assert ended.state == "FAILED" and "was stopped" in ended.error.message
    finally:
        server.stop()


def test_the_first_post_calls_its_hook_once(tmp_path):
    """``on_first_post`` (the sandbox warms SageMaker's compute with it) runs on the first POST
    only: reads do not call it, a second POST does not call it again."""
    import json
    import urllib.request

    from wizard.sandbox.kfp_api import KfpApiServer

    calls: list[int] = []
    server = KfpApiServer(tmp_path / "kfp", on_first_post=lambda: calls.append(1)).start()
    try:
        client = make_client(server.url)
        client.list_experiments()
        with urllib.request.urlopen(f"{server.url}/apis/v2beta1/healthz", timeout=10):
            pass
        assert calls == []
        client.create_experiment("one")
        assert calls == [1]
        client.create_experiment("two")
        body = json.dumps({"display_name": "three"}).encode()
        request = urllib.request.Request(f"{server.url}/apis/v2beta1/experiments", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10):
            pass
        assert calls == [1]
    finally:
        server.stop()
