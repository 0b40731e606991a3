"""Processing, training and transform jobs: Create, Describe, List, Stop, and the thread that
drives each job through its statuses while a worker process does the work.

Statuses as SageMaker's: ``InProgress`` then ``Completed``, ``Failed`` or ``Stopping`` ->
``Stopped``. Training jobs also walk SecondaryStatus Starting -> Downloading -> Training ->
Uploading -> Completed, each step recorded in SecondaryStatusTransitions.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

from .common import KINDS, claim, describe, list_kind, request_part, require
from .context import now
from .errors import limit_exceeded, validation

TASK_KIND = {"ProcessingJob": "processing", "TrainingJob": "training",
             "TransformJob": "transform"}
TIMES = {"ProcessingJob": ("ProcessingStartTime", "ProcessingEndTime"),
         "TrainingJob": ("TrainingStartTime", "TrainingEndTime"),
         "TransformJob": ("TransformStartTime", "TransformEndTime"),
         "HyperParameterTuningJob": (None, "HyperParameterTuningEndTime")}
_SECONDARY_END = {"Completed": "Training job completed", "Failed": "Training job failed",
                  "Stopped": "Training job stopped"}


def secondary(record: dict, status: str, message: str) -> None:
    """Move a training job to a new SecondaryStatus, closing the previous transition."""
    t = now()
    trans = record.setdefault("SecondaryStatusTransitions", [])
    if trans and "EndTime" not in trans[-1]:
        trans[-1]["EndTime"] = t
    trans.append({"Status": status, "StartTime": t, "StatusMessage": message})
    record["SecondaryStatus"] = status
    record["LastModifiedTime"] = t


def finish_record(kind: str, record: dict, status: str, reason: str | None = None) -> None:
    """Put a job in a final status (in place), with its end time and FailureReason."""
    t = now()
    record[KINDS[kind].status_field] = status
    record["LastModifiedTime"] = t
    start_field, end_field = TIMES[kind]
    record[end_field] = t
    if reason:
        record["FailureReason"] = reason
    if kind == "TrainingJob":
        secondary(record, status, reason or _SECONDARY_END[status])
        record["SecondaryStatusTransitions"][-1]["EndTime"] = t
        started = record.get(start_field) or record.get("CreationTime", t)
        record["TrainingTimeInSeconds"] = max(0, int(t - started))
        record["BillableTimeInSeconds"] = record["TrainingTimeInSeconds"]


def _work_dir(app: Any, kind: str, name: str) -> Path:
    """The job's own folder under the app's data directory."""
    return app.data_dir / "work" / kind / name


def build_task(app: Any, kind: str, name: str, record: dict, extra: dict | None = None) -> dict:
    """The worker's task for a job."""
    task = {
        "kind": TASK_KIND.get(kind, kind), "name": name,
        "request": {k: v for k, v in record.items() if not k.startswith("_")},
        "aws_url": app.ctx.aws_url, "region": app.region, "account_id": app.ctx.account_id,
        "credentials": app.ctx.credentials, "work_dir": str(_work_dir(app, kind, name)),
        "delay": app.delay, "s3_denied": app.scenario("s3") == "AccessDenied",
    }
    task.update(extra or {})
    return task


def drive(app: Any, kind: str, name: str, extra: dict | None = None) -> None:
    """Take a job from InProgress to its final status (runs in its own thread).

    The job's first phase (a training job's Starting) lasts at least one pace, as before; the
    worker now starts during it instead of after it: it is told when the phase began and holds
    its first status (or its end) until the pace is over. The start time is stamped when the
    pace is over, or at the worker's first event if that comes first.
    """
    stop = app.stop_event(kind, name)
    timer = None
    try:
        if app.closed.is_set():
            return  # the app is closing; a restart marks the job failed
        # CLOCK_MONOTONIC is one clock for every process on the machine: the worker compares it
        began = time.monotonic()
        stamp = _Once(_stamp_start, app, kind, name, stop) if TIMES[kind][0] else _Once(None)
        timer = threading.Timer(app.delay, stamp)
        timer.daemon = True
        timer.start()
        record = app.store.get(kind, name)
        if record is None:
            return

        def on_event(event: dict) -> None:
            """Stamp the start (once), then record the event."""
            stamp()
            _on_event(app, kind, name, event)

        task = build_task(app, kind, name, record, dict(extra or {}, phase_began=began))
        final = app.pool.run(task, on_event, stop, _work_dir(app, kind, name) / "worker.log")
        if app.closed.is_set():
            return
        timer.cancel()
        stamp()  # the start time is stamped before the end
        _finish(app, kind, name, final)
    finally:
        if timer is not None:
            timer.cancel()
        app.stops.pop((kind, name), None)
        _tidy(_work_dir(app, kind, name))


class _Once:
    """Calls ``fn(*args)`` the first time it is called, from whichever thread; later calls wait
    for that first one to finish and do nothing."""

    def __init__(self, fn: Any, *args: Any):
        """Remember what to call."""
        self.fn, self.args = fn, args
        self.lock = threading.Lock()
        self.done = False

    def __call__(self) -> None:
        """Call it, unless it was called before."""
        with self.lock:
            if not self.done:
                self.done = True
                if self.fn is not None:
                    self.fn(*self.args)


def _stamp_start(app: Any, kind: str, name: str, stop: Any) -> None:
    """Stamp the job's start time once (a training job's Starting message is reworded, as
    SageMaker rewords the running transition rather than adding a second one)."""
    start_field = TIMES[kind][0]

    def started(record: dict) -> None:
        """Stamp the start time, unless it is stamped already."""
        if record.get(start_field):
            return
        record[start_field] = now()
        trans = record.get("SecondaryStatusTransitions") or []
        if kind == "TrainingJob" and trans and trans[-1].get("Status") == "Starting":
            trans[-1]["StatusMessage"] = "Preparing the instances for training"

    if kind == "TrainingJob" and stop.is_set():
        return  # stopped while starting: it never started
    app.store.mutate(kind, name, started)


def _on_event(app: Any, kind: str, name: str, event: dict) -> None:
    """Record a worker's progress event."""
    if event.get("event") == "status" and kind == "TrainingJob":
        app.store.mutate(kind, name, lambda r: secondary(r, event["secondary"], event["message"])
                         if r.get("TrainingJobStatus") == "InProgress" else None)
    elif event.get("event") == "metrics":
        app.store.update(kind, name, FinalMetricDataList=event["metrics"], LastModifiedTime=now())


def _finish(app: Any, kind: str, name: str, final: dict) -> None:
    """Apply the worker's final event to the record."""
    outcome = final.get("event")

    def apply(record: dict) -> None:
        """Change the record in place (called under the store's lock)."""
        if outcome == "done":
            result = final.get("result") or {}
            if kind == "TrainingJob":
                record["ModelArtifacts"] = result.get("ModelArtifacts")
                record["FinalMetricDataList"] = result.get("FinalMetricDataList") or []
            finish_record(kind, record, "Completed")
        elif outcome == "stopped":
            finish_record(kind, record, "Stopped")
        else:
            if final.get("exit_message") and kind == "ProcessingJob":
                record["ExitMessage"] = final["exit_message"]
            finish_record(kind, record, "Failed", final.get("reason") or "InternalServerError")

    app.store.mutate(kind, name, apply)


def _tidy(work: Path) -> None:
    """Remove a finished job's data copies, keeping its worker log."""
    if not work.is_dir():
        return
    for child in work.iterdir():
        if child.name != "worker.log":
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def _new(kind: str, params: dict) -> dict:
    """A new job record from its request."""
    t = now()
    record = request_part(params)
    record.update({KINDS[kind].status_field: "InProgress", "CreationTime": t,
                   "LastModifiedTime": t})
    return record


def create_processing_job(app: Any, params: dict) -> dict:
    """CreateProcessingJob."""
    name = params["ProcessingJobName"]
    if app.store.exists("ProcessingJob", name):
        claim(app, "ProcessingJob", name, {}, None)  # raises the duplicate error
    app.ctx.check_role(params["RoleArn"], app.scenario("role") == "AccessDenied")
    record = _new("ProcessingJob", params)
    record.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
    arn = claim(app, "ProcessingJob", name, record, params.get("Tags"))
    app.spawn(drive, app, "ProcessingJob", name, name=f"processing:{name}")
    return {"ProcessingJobArn": arn}


def training_record(params: dict, tuning: dict | None = None) -> dict:
    """A new training job record (also used for a tuning job's training jobs)."""
    record = _new("TrainingJob", params)
    record.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
    for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                 "EnableManagedSpotTraining"):
        record.setdefault(flag, False)
    spec = record.setdefault("AlgorithmSpecification", {})
    spec.setdefault("TrainingInputMode", "File")
    spec.setdefault("EnableSageMakerMetricsTimeSeries", False)
    record.setdefault("ResourceConfig", {}).setdefault("InstanceCount", 1)
    # what DescribeTrainingJob shows for an output config given without them (ACK's late
    # initialisation waits until every one of these defaults is there)
    output = record.setdefault("OutputDataConfig", {})
    output.setdefault("KmsKeyId", "")
    output.setdefault("CompressionType", "GZIP")
    record["SecondaryStatus"] = "Starting"
    record["SecondaryStatusTransitions"] = [{"Status": "Starting", "StartTime": record[
        "CreationTime"], "StatusMessage": "Launching requested ML instances"}]
    if tuning:
        record.update(tuning)
    return record


def create_training_job(app: Any, params: dict) -> dict:
    """CreateTrainingJob."""
    name = params["TrainingJobName"]
    if app.store.exists("TrainingJob", name):
        claim(app, "TrainingJob", name, {}, None)
    app.ctx.check_role(params["RoleArn"], app.scenario("role") == "AccessDenied")
    if app.scenario("training") == "ResourceLimitExceeded":
        raise limit_exceeded((params.get("ResourceConfig") or {}).get("InstanceType", "ml.m5.xlarge"),
                             "training job usage")
    arn = claim(app, "TrainingJob", name, training_record(params), params.get("Tags"))
    app.spawn(drive, app, "TrainingJob", name, name=f"training:{name}")
    return {"TrainingJobArn": arn}


def create_transform_job(app: Any, params: dict) -> dict:
    """CreateTransformJob (the model must exist)."""
    name = params["TransformJobName"]
    if app.store.exists("TransformJob", name):
        claim(app, "TransformJob", name, {}, None)
    model = require(app, "Model", params["ModelName"])
    record = _new("TransformJob", params)
    # DescribeTransformJob shows the input's defaults (ACK late-initialises them into spec)
    # and the output's and data processing's (ACK's delta fills those in before comparing);
    # it does not show BatchStrategy or MaxPayloadInMB when the request left them out: ACK
    # would see a spec change it cannot make and end Terminal ("not implemented"). The
    # compute applies their defaults (MultiRecord, 6 MB) itself.
    record.setdefault("TransformInput", {}).setdefault("CompressionType", "None")
    record["TransformInput"].setdefault("SplitType", "None")
    output = record.setdefault("TransformOutput", {})
    output.setdefault("AssembleWith", "None")
    output.setdefault("KmsKeyId", "")
    record.setdefault("DataProcessing", {"InputFilter": "$", "OutputFilter": "$",
                                         "JoinSource": "None"})
    arn = claim(app, "TransformJob", name, record, params.get("Tags"))
    extra = {"model": {k: v for k, v in model.items() if not k.startswith("_")}}
    app.spawn(drive, app, "TransformJob", name, extra, name=f"transform:{name}")
    return {"TransformJobArn": arn}


def stop_job(app: Any, kind: str, name: str) -> dict:
    """Stop*Job: InProgress -> Stopping; the job's thread ends it as Stopped."""
    require(app, kind, name)
    field = KINDS[kind].status_field
    refused: list[str] = []

    def apply(record: dict) -> None:
        """Change the record in place (called under the store's lock)."""
        if record[field] != "InProgress":
            refused.append(record[field])
            return
        record[field] = "Stopping"
        if kind == "TrainingJob":
            secondary(record, "Stopping", "Stopping the training job")

    app.store.mutate(kind, name, apply)
    if refused:
        raise validation(f"The request was rejected because the job is in status {refused[0]}.")
    app.stop_event(kind, name).set()
    return {}


OPERATIONS = {
    "CreateProcessingJob": create_processing_job,
    "DescribeProcessingJob": lambda app, p: describe(app, "ProcessingJob", p["ProcessingJobName"]),
    "ListProcessingJobs": lambda app, p: list_kind(app, "ProcessingJob", p),
    "StopProcessingJob": lambda app, p: stop_job(app, "ProcessingJob", p["ProcessingJobName"]),
    "CreateTrainingJob": create_training_job,
    "DescribeTrainingJob": lambda app, p: describe(app, "TrainingJob", p["TrainingJobName"]),
    "ListTrainingJobs": lambda app, p: list_kind(app, "TrainingJob", p),
    "StopTrainingJob": lambda app, p: stop_job(app, "TrainingJob", p["TrainingJobName"]),
    "CreateTransformJob": create_transform_job,
    "DescribeTransformJob": lambda app, p: describe(app, "TransformJob", p["TransformJobName"]),
    "ListTransformJobs": lambda app, p: list_kind(app, "TransformJob", p),
    "StopTransformJob": lambda app, p: stop_job(app, "TransformJob", p["TransformJobName"]),
}
