"""Run monitoring and ``labwiz terminate`` against a real (slowed) sandbox.

* The monitoring view drawn from what the follower reads off real custom resources: every ACK
  condition with its status and message, an elapsed time that moves on every refresh, and a
  tuning job's training jobs with the tail of their CloudWatch logs.
* ``labwiz terminate`` on the lab's own run: the KFP run ends CANCELED, the SageMaker job it had
  started is stopped and its custom resource deleted, and the equivalent commands are printed.
* ``labwiz terminate`` takes the KFP connection options the rest of the CLI uses.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_labwiz
from tests.reliability.reliability_harness import run_and_kill
from tests.steps.conftest import state

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"


class RecordingReporter:
    """A reporter that keeps what a front-end would be handed (no client is replaced)."""

    def __init__(self):
        """Nothing shown yet."""
        self.shows: list[tuple[str, object]] = []
        self.logs: list[str] = []

    def log(self, message, level="info"):
        """Keep the line."""
        self.logs.append(message)

    def progress(self, task, done, total=None, unit=""):
        """Progress is not asserted here."""

    def command(self, command):
        """Commands are asserted through the CLI tests below."""

    def show(self, kind, data):
        """Keep the view's data; a deep copy, as the TUI bridge takes one."""
        self.shows.append((kind, json.loads(json.dumps(data))))


def _text(kind: str, data) -> str:
    """The view as plain text, as a wide terminal shows it."""
    from rich.console import Console

    from wizard.views import render

    console = Console(width=200, record=True, no_color=True, file=open("/dev/null", "w"))
    console.print(render(kind, data))
    return console.export_text()


def _follower(sandbox_info: dict, run_id: str, reporter):
    """A monitoring follower for ``run_id`` with real clients on the sandbox."""
    from wizard.kfp_ops.monitor import Follower
    from wizard.ledger import Ledger
    from wizard.protocol import Context
    from wizard.target import sandbox_target

    doc = {"lineage": uuid.uuid4().hex, "ledger": []}
    ctx = Context(state_dir=Path("."), doc=doc, ledger=Ledger(doc, save=lambda: None),
                  target=sandbox_target(sandbox_info), inputs={}, confirm=lambda q: True)
    return Follower(ctx, reporter, None, run_id, {}, sandbox_info["profile_namespace"],
                    fast=True)


def _plan(sandbox_info: dict, run_id: str):
    """The lab pipeline's specs for ``run_id`` (two tuning jobs, both at once)."""
    from assets.pipeline import glue
    from wizard.kmeans_images import kmeans_image_uri

    return glue.plan.python_func(
        run_id=run_id, bucket=sandbox_info["bucket"], prefix="monitoring-test",
        role_arn=sandbox_info["execution_role_arn"], processing_image="unused",
        kmeans_image=kmeans_image_uri(sandbox_info["region"]), data_uri="", script_uri="",
        processing_instance_type="ml.m5.xlarge", training_instance_type="ml.m5.xlarge",
        endpoint_instance_type="ml.m5.large", transform_instance_type="ml.m5.large",
        max_jobs=2, max_parallel_jobs=2)


def _put_channels(aws, plan) -> None:
    """Small CSV train and test channels where the tuning job reads them."""
    import numpy as np

    rng = np.random.default_rng(7)
    for channel in plan.channels:
        rows = rng.random((60, 784)).round(3)
        body = "\n".join(",".join(str(v) for v in row) for row in rows).encode()
        bucket, _, key = channel["dataSource"]["s3DataSource"]["s3URI"][5:].partition("/")
        aws("s3").put_object(Bucket=bucket, Key=f"{key}/part-0.csv", Body=body)


def _create(kube, namespace: str, plural: str, kind: str, name: str, spec: dict) -> None:
    """Create one custom resource, as a pipeline component would."""
    from kubernetes import client

    client.CustomObjectsApi(kube).create_namespaced_custom_object(GROUP, VERSION, namespace, plural, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name},
        "spec": spec})


def _elapsed(text: str, name: str) -> int:
    """The elapsed seconds the resources table shows for ``name`` (``42 s`` or ``1m 05s``)."""
    row = next(line for line in text.splitlines() if name in line and "│" in line)
    match = re.search(r"│\s*(?:(\d+)m (\d+)s|(\d+) s)\s*│", row)
    assert match, row
    minutes, seconds, plain = match.groups()
    return int(plain) if plain else int(minutes) * 60 + int(seconds)


def test_monitoring_view_shows_conditions_live_elapsed_and_tuning_log_tails(
        sandbox_info, aws, kube):
    """Conditions with messages, a moving elapsed time, and the tuning job's training logs."""
    from wizard.headless import HeadlessReporter

    ns = sandbox_info["profile_namespace"]
    run_id = str(uuid.uuid4())
    plan = _plan(sandbox_info, run_id)
    _put_channels(aws, plan)
    _create(kube, ns, "hyperparametertuningjobs", "HyperParameterTuningJob", plan.hpo_name, {
        "hyperParameterTuningJobName": plan.hpo_name,
        "hyperParameterTuningJobConfig": plan.hpo_config,
        "trainingJobDefinition": plan.hpo_definition})
    # a training job SageMaker refuses: a ValidationException is not among TrainingJob's terminal
    # codes in ACK's generator.yaml, so ACK reports it Recoverable (and retries), with the message
    _create(kube, ns, "trainingjobs", "TrainingJob", plan.train_name, {
        "trainingJobName": plan.train_name, "roleARN": sandbox_info["execution_role_arn"],
        "algorithmSpecification": plan.algorithm, "hyperParameters": plan.static_hp,
        "inputDataConfig": plan.channels, "outputDataConfig": plan.train_output,
        "resourceConfig": {**plan.train_resources, "instanceType": "ml.no-such-type"},
        "stoppingCondition": plan.stopping})
    reporter = RecordingReporter()
    follower = _follower(sandbox_info, run_id, reporter)

    # While tuning runs: both conditions drawn, its running training jobs listed.
    deadline, running = time.monotonic() + 120, None
    while time.monotonic() < deadline:
        follower._resources()
        rows = {r["kind"]: r for r in follower.resources}
        hpo, train = rows.get("HyperParameterTuningJob"), rows.get("TrainingJob")
        refused = any(c["type"] == "ACK.Recoverable" and c["status"] == "True"
                      for c in (train or {}).get("conditions") or [])
        if hpo and train and refused and hpo["status"] == "InProgress" \
                and any(c["status"] == "InProgress" for c in hpo.get("children", [])):
            running = _text("resources", follower.resources)
            break
        time.sleep(0.5)
    assert running, f"tuning never seen running: {follower.resources}"
    assert re.search(r"ACK\.ResourceSynced\s+False\s+HyperParameterTuningJob is in InProgress "
                     r"status", running), running
    assert re.search(r"ACK\.Recoverable\s+True\s+api error ValidationException: .*ml\.no-such-type",
                     running), \
        running
    assert re.search(rf"└ training job {plan.hpo_name}-\d{{3}}-[0-9a-f]{{8}} \(InProgress\)",
                     running), running

    # Every refresh draws a newer elapsed time for each job in flight (the refused one too: ACK
    # keeps retrying it, so it has not finished): refresh until two more seconds show, with a
    # generous bound, rather than sleep and hope
    deadline = time.monotonic() + 120
    while True:
        follower._resources()
        later = _text("resources", follower.resources)
        if _elapsed(later, plan.hpo_name) >= _elapsed(running, plan.hpo_name) + 2:
            break
        assert time.monotonic() < deadline, (running, later)
        time.sleep(0.5)
    assert _elapsed(later, plan.train_name) > _elapsed(running, plan.train_name), (running, later)
    # ...and the follower hands the view to the front-end on every poll, not only on changes
    assert [k for k, _ in reporter.shows].count("resources") >= 2
    # A printing front-end prints only what changed: nothing for a view whose only change is its
    # elapsed time, and a problem condition when one appears (a status change is the follower's
    # own log line).
    view = reporter.shows[-1][1]
    older = json.loads(json.dumps(view))
    for row in older:
        row["elapsed_s"] = (row["elapsed_s"] or 0) + 7
    changed = json.loads(json.dumps(view))
    changed[0]["conditions"] = [{"type": "ACK.Recoverable", "status": "True",
                                 "message": "ThrottlingException: Rate exceeded"}]
    printed = HeadlessReporter(live=False)
    outputs = []
    for data in (view, older, changed):
        with printed.console.capture() as captured:
            printed.show("resources", data)
        outputs.append(captured.get())
    assert outputs[1] == "" and "Rate exceeded" in outputs[2], outputs

    # Once tuning is done: the best training job's own CloudWatch log tail.
    deadline, done = time.monotonic() + 180, None
    while time.monotonic() < deadline:
        follower._resources()
        hpo = next(r for r in follower.resources if r["kind"] == "HyperParameterTuningJob")
        if hpo["status"] == "Completed" and any(c["best"] and c["log_tail"]
                                                for c in hpo.get("children", [])):
            done = _text("resources", follower.resources)
            break
        time.sleep(1)
    assert done, f"tuning never completed with a best job's logs: {follower.resources}"
    best = next(c for c in hpo["children"] if c["best"])
    logs = aws("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=best["name"])["logStreams"]
    assert streams and re.fullmatch(rf"{best['name']}/algo-1-\d+", streams[0]["logStreamName"])
    assert f"└ training job {best['name']} (best, Completed, objective" in done, done
    assert re.search(r"#test_score \(algo-1\) : \('msd'", done), done
    assert re.search(r"ACK\.ResourceSynced\s+True\s+HyperParameterTuningJob is in Completed", done)
    # a finished job's clock stops: later refreshes draw the same elapsed time
    first = _elapsed(done, plan.hpo_name)
    deadline = time.monotonic() + 60
    while _elapsed(_text("resources", follower.resources), plan.train_name) < \
            _elapsed(done, plan.train_name) + 2:
        assert time.monotonic() < deadline
        time.sleep(0.5)
        follower._resources()
    assert _elapsed(_text("resources", follower.resources), plan.hpo_name) == first


def _kfp_run(sandbox_info: dict, run_id: str) -> dict:
    """The run as the KFP REST API reports it."""
    url = f"{sandbox_info['services']['kfp']['url']}/apis/v2beta1/runs/{run_id}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def test_terminate_stops_the_lab_run_and_its_sagemaker_jobs(lab, sandbox_info, aws, kube):
    """The lab's run, stopped mid-processing: KFP CANCELED, job Stopped, resource deleted."""
    from kubernetes import client

    from assets.pipeline.naming import resource_names

    # The lab up to its pipeline run; the wizard dies once the run's first resource exists.
    first = run_and_kill(lab, [], event={"event": "resource.created", "kind": "custom-resource"},
                         timeout=400)
    assert first["killed"], first["output"][-3000:]
    doc = state(lab)
    run_row = [r for r in doc["ledger"] if r["kind"] == "kfp-run"][-1]
    run_id, ns = run_row["name"], run_row["namespace"]
    names = resource_names(run_id)
    sm = aws("sagemaker")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if sm.describe_processing_job(
                    ProcessingJobName=names["proc"])["ProcessingJobStatus"] == "InProgress":
                break
        except sm.exceptions.ClientError:
            pass
        time.sleep(0.3)
    else:
        raise AssertionError("the run's processing job never ran")
    assert _kfp_run(sandbox_info, run_id)["state"] in ("PENDING", "RUNNING")
    # The run's graph, as monitoring draws it on each poll: its elapsed time moves.
    watcher = RecordingReporter()
    follower = _follower(sandbox_info, run_id, watcher)
    follower.client = follower.ctx.clients.kfp
    seen = []
    for _ in range(2):
        follower.poll()
        graph = _text(*next(v for v in reversed(watcher.shows) if v[0] == "graph"))
        seen.append(graph)
        time.sleep(2.1)
    # the run's line: "Run <id>  ● RUNNING  12.0 s" (or "1m 05s" past a minute)
    ticks = [re.search(r"RUNNING\s+(?:(\d+)m )?(\d+)(?:\.\d)?s?", g) for g in seen]
    assert all(ticks), seen
    secs = [int(m.group(1) or 0) * 60 + int(m.group(2)) for m in ticks]
    assert secs[1] >= secs[0] + 2, seen

    result = run_labwiz(["--state-dir", str(lab), "terminate"], timeout=240)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out

    # KFP: the run is over.
    assert _kfp_run(sandbox_info, run_id)["state"] == "CANCELED"
    # SageMaker: the job the run started is stopped, not left running (or completed).
    assert sm.describe_processing_job(ProcessingJobName=names["proc"])["ProcessingJobStatus"] in (
        "Stopping", "Stopped")
    # Kubernetes: none of the run's custom resources is left.
    custom = client.CustomObjectsApi(kube)
    from assets.pipeline.naming import ROLES

    for role, name in names.items():
        with pytest.raises(client.exceptions.ApiException) as missing:
            custom.get_namespaced_custom_object(GROUP, VERSION, ns, ROLES[role][1], name)
        assert missing.value.status == 404, (role, name)
    # The equivalent commands, and what was done.
    assert f"$ curl -X POST {sandbox_info['services']['kfp']['url']}/apis/v2beta1/runs/" \
           f"{run_id}:terminate" in out, out
    # who deletes the resource is a race: the task's own delete-on-termination, or terminate;
    # terminate may also list it, print its delete, and find it gone by then (on a busy
    # machine, seen): either way it must say which, and the cluster (above) has none left
    if f"deleted processingjobs/{names['proc']}" not in out:
        assert f"No custom resource of run {run_id} is left: its tasks deleted their own" in out, out
    assert re.search(rf"SageMaker job {names['proc']}: Stopp(ed|ing)", out), out
    # The ledger says the run ended, so a resumed lab starts a new run instead of re-attaching.
    row = [r for r in state(lab)["ledger"] if r["kind"] == "kfp-run"][-1]
    assert row["details"]["state"] == "CANCELED"

    # Terminating again: the run has already ended, nothing is left to delete.
    again = run_labwiz(["--state-dir", str(lab), "terminate", "--wait", "5"], timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "had already ended (CANCELED)" in again.stdout

    # An AWS failure while stopping (an expired session, here) is a labwiz error with what to
    # do, not a traceback
    fault = run_labwiz(["--state-dir", str(lab), "sandbox", "fail", "credentials=ExpiredToken"])
    assert fault.returncode == 0, fault.stdout + fault.stderr
    try:
        expired = run_labwiz(["--state-dir", str(lab), "terminate", "--delete-resources",
                              "--wait", "5"], timeout=120)
    finally:
        run_labwiz(["--state-dir", str(lab), "sandbox", "fail", "--clear"])
    told = expired.stdout + expired.stderr
    assert expired.returncode == 5, told
    assert "AWS rejected your credentials" in told and "What to do:" in told, told
    assert "Traceback" not in told, told


def test_terminate_uses_the_kfp_connection_options(lab, tmp_path):
    """--kfp-host and --kfp-token (or LABWIZ_KFP_TOKEN) reach a KFP that requires a token; a
    wrong token is refused with what to do, and no token is ever printed."""
    import warnings

    import kfp
    from kfp import compiler

    from tests.kfp_api.kfp_pipelines import sleep_pipeline
    from wizard.sandbox.kfp_api import KfpApiServer

    package = tmp_path / "sleep.yaml"
    compiler.Compiler().compile(sleep_pipeline, str(package))
    server = KfpApiServer(tmp_path / "kfp", auth_token="right-token-5e1f").start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kfp_client = kfp.Client(host=server.url, existing_token="right-token-5e1f")
        run_id = kfp_client.create_run_from_pipeline_package(
            str(package), arguments={"seconds": 120.0}, run_name="sleepy").run_id
        base = ["--state-dir", str(lab), "terminate", "--sandbox", "--run-id", run_id,
                "--kfp-host", server.url, "--wait", "20"]

        wrong = run_labwiz(base + ["--kfp-token", "wrong-token-9a0b"], timeout=120)
        assert wrong.returncode == 2, wrong.stdout + wrong.stderr
        assert "refused the credentials" in wrong.stderr and "What to do:" in wrong.stderr
        assert kfp_client.get_run(run_id).state in ("PENDING", "RUNNING")

        right = run_labwiz(base, env={"LABWIZ_KFP_TOKEN": "right-token-5e1f"}, timeout=120)
        out = right.stdout + right.stderr
        assert right.returncode == 0, out
        assert kfp_client.get_run(run_id).state == "CANCELED"
        assert "bearer token" in out
        assert f"-H '<secret>' {server.url}/apis/v2beta1/runs/{run_id}:terminate" in out, out
        for shown in (wrong.stdout + wrong.stderr, out):
            assert "right-token-5e1f" not in shown and "wrong-token-9a0b" not in shown
    finally:
        server.stop()


def test_terminate_without_a_run_says_what_to_do(lab):
    """A lab that never started a run: a usage error naming --run-id."""
    result = run_labwiz(["--state-dir", str(lab), "terminate", "--sandbox"], timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "has not started a pipeline run" in result.stderr and "--run-id" in result.stderr
