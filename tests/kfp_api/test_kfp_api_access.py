"""Auth token, injected 5xx faults, multi-user rules and the `kfp` CLI against the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.kfp_api.conftest import make_client

KFP_CLI = str(Path(sys.executable).with_name("kfp"))


def status_of(url: str, headers: dict | None = None) -> int:
    """The HTTP status of a GET."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_auth_token_is_enforced(tmp_path, pipelines):
    from wizard.sandbox.kfp_api import KfpApiServer

    server = KfpApiServer(tmp_path / "kfp", auth_token="s3cret").start()
    try:
        api = f"{server.url}/apis/v2beta1"
        assert status_of(f"{api}/healthz") == 200
        assert server.healthy()
        assert status_of(f"{api}/pipelines") == 401
        assert status_of(f"{api}/pipelines", {"Authorization": "Bearer wrong"}) == 401
        assert status_of(f"{api}/pipelines", {"Cookie": "authservice_session=wrong"}) == 401
        assert status_of(f"{api}/pipelines", {"Authorization": "Bearer s3cret"}) == 200
        assert status_of(f"{api}/pipelines",
                         {"Cookie": "other=1; authservice_session=s3cret"}) == 200
        req = urllib.request.Request(f"{api}/runs")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=120)
        body = json.loads(err.value.read())
        assert body["code"] == 16 and "authservice_session" in body["message"]

        # the SDK's two ways of authenticating: a cookie, or an existing token
        by_cookie = make_client(server.url, cookies="authservice_session=s3cret")
        pipeline = by_cookie.upload_pipeline(str(pipelines["sum"]), pipeline_name="authed")
        by_token = make_client(server.url, existing_token="s3cret")
        assert by_token.get_pipeline(pipeline.pipeline_id).display_name == "authed"
        rejected = make_client(server.url, cookies="authservice_session=expired")
        with pytest.raises(Exception) as exc:
            rejected.list_pipelines()
        assert exc.value.status == 401
    finally:
        server.stop()


def test_kfp_5xx_fault_answers_503_and_retry_gets_through(tmp_path):
    from wizard.sandbox import faults
    from wizard.sandbox.kfp_api import KfpApiServer

    sandbox = tmp_path / "sandbox"
    faults.write(sandbox, [faults.parse("kfp-5xx=0.5")])
    server = KfpApiServer(sandbox / "kfp", faults=faults.Faults(sandbox)).start()
    try:
        api = f"{server.url}/apis/v2beta1"
        codes = [status_of(f"{api}/experiments") for _ in range(10)]
        assert codes.count(503) == 5 and codes.count(200) == 5
        # failures never follow each other, so one retry always succeeds
        assert all(not (a == b == 503) for a, b in zip(codes, codes[1:]))
        assert all(status_of(f"{api}/healthz") == 200 for _ in range(4))
        req = urllib.request.Request(f"{api}/experiments")
        bodies = []
        for _ in range(2):
            try:
                urllib.request.urlopen(req, timeout=120).read()
            except urllib.error.HTTPError as err:
                bodies.append(json.loads(err.read()))
        assert bodies and bodies[0]["code"] == 14 and "kfp-5xx" in bodies[0]["message"]
        faults.write(sandbox, [])
        assert all(status_of(f"{api}/experiments") == 200 for _ in range(4))
    finally:
        server.stop()


def test_multi_user_mode_needs_namespaces(tmp_path):
    from wizard.sandbox.kfp_api import KfpApiServer

    server = KfpApiServer(tmp_path / "kfp", multi_user=True).start()
    try:
        client = make_client(server.url, namespace="kubeflow-user-example-com")
        assert client.get_kfp_healthz().multi_user is True
        experiment = client.create_experiment("mu")  # the client fills in its namespace
        assert experiment.namespace == "kubeflow-user-example-com"
        with pytest.raises(Exception) as exc:
            client.experiments.experiment_service_list_experiments()
        assert exc.value.status == 400 and "namespace" in exc.value.body
        with pytest.raises(Exception) as exc:
            client.runs.run_service_list_runs()
        assert exc.value.status == 400
        assert client.list_runs(namespace="kubeflow-user-example-com").total_size == 0
    finally:
        server.stop()


def _kfp(url: str, *args: str) -> subprocess.CompletedProcess:
    """Run the real `kfp` CLI against ``url``."""
    env = {**os.environ, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([KFP_CLI, "--endpoint", url, *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_kfp_cli_works_against_the_server(kfp_server, pipelines):
    url = kfp_server.url
    created = _kfp(url, "pipeline", "create", "--pipeline-name", "cli-pipe",
                   str(pipelines["sum"]))
    assert created.returncode == 0, created.stderr
    listed = _kfp(url, "--output", "json", "pipeline", "list")
    assert listed.returncode == 0, listed.stderr
    pipes = json.loads(listed.stdout)
    pipe = next(p for p in pipes if p["display_name"] == "cli-pipe")
    got = _kfp(url, "--output", "json", "pipeline", "get", pipe["pipeline_id"])
    assert got.returncode == 0 and json.loads(got.stdout)["name"] == "cli-pipe"

    exp = _kfp(url, "experiment", "create", "cli-exp")
    assert exp.returncode == 0, exp.stderr
    run = _kfp(url, "--output", "json", "run", "create", "--experiment-name", "cli-exp",
               "--run-name", "cli-run", "--package-file", str(pipelines["sum"]), "a=4", "b=5")
    assert run.returncode == 0, run.stderr
    # the SDK prints "... details: <link>" lines before the JSON document
    run_id = json.loads(run.stdout[run.stdout.index("{"):])["run_id"]
    # the CLI's own --timeout polls every 5 s; the SDK call with a short period is quicker
    make_client(url).wait_for_run_completion(run_id, timeout=90, sleep_duration=0.3)
    got_run = _kfp(url, "--output", "json", "run", "get", run_id)
    assert got_run.returncode == 0 and json.loads(got_run.stdout)["state"] == "SUCCEEDED"
    runs = _kfp(url, "--output", "json", "run", "list")
    assert runs.returncode == 0, runs.stderr
    mine = [r for r in json.loads(runs.stdout) if r["display_name"] == "cli-run"]
    assert mine and mine[0]["state"] == "SUCCEEDED"
    exps = _kfp(url, "experiment", "list")
    assert exps.returncode == 0 and "cli-exp" in exps.stdout
    versions = _kfp(url, "pipeline", "list-versions", pipe["pipeline_id"])
    assert versions.returncode == 0 and "cli-pipe" in versions.stdout
