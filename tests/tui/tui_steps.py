"""Three steps for the TUI tests (loaded with LABWIZ_STEPS=tests.tui.tui_steps:STEPS).

They do small real work in ``LABWIZ_TEST_WORKDIR`` and report through every Reporter channel, so the
tests see logs, progress, commands and the structured views. ``train`` fails while the file
``<workdir>/fail-train`` exists, so a test can make it fail and then let the retry succeed;
``prepare`` sends as many undrawable views as ``<workdir>/bad-view`` says, to provoke interface errors.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from wizard.errors import InputError, StepError
from wizard.protocol import InputSpec, Resource, Step, VerifyResult, cmd


def workdir() -> Path:
    """The directory the steps work in."""
    path = Path(os.environ["LABWIZ_TEST_WORKDIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _bucket(value, ctx):
    """Validate a bucket name."""
    value = str(value).strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{2,62}", value):
        raise InputError(f"'{value}' is not a valid bucket name.",
                         remediation="Use 3-63 lowercase letters, digits, dots and hyphens.")
    return value


#: the graph and resources the 'train' step reports (also used by the snapshot tests)
GRAPH = {"run": {"name": "mnist-kmeans", "id": "run-0001", "state": "RUNNING"},
         "tasks": [{"name": "process-data", "state": "SUCCEEDED", "depends_on": []},
                   {"name": "train-kmeans", "state": "RUNNING", "depends_on": ["process-data"]},
                   {"name": "deploy-model", "state": "PENDING", "depends_on": ["train-kmeans"]},
                   {"name": "batch-transform", "state": "PENDING",
                    "depends_on": ["train-kmeans", "process-data"]}]}
RESOURCES = [
    {"kind": "ProcessingJob", "name": "process-mnist", "status": "Completed", "secondary": "",
     "failure": "", "log_tail": ["wrote train_data.csv", "wrote test_data.csv"]},
    {"kind": "TrainingJob", "name": "kmeans-mnist", "status": "InProgress", "secondary": "Training",
     "failure": "", "log_tail": ["epoch 3/10", "loss 41.2"]},
]


class PrepareStep(Step):
    """Makes a 'bucket' directory named by the input."""

    id = "prepare"
    title = "Prepare"
    summary = "Make a bucket for the lab's data."
    lesson = "The lab keeps its **data** in a bucket.\n\n* one\n* two"

    def input_specs(self):
        """The step's inputs."""
        return [InputSpec("bucket", "Bucket name", help="Where the data goes.", default="lab-bucket",
                          validate=_bucket)]

    def run(self, ctx, reporter):
        """Do the step's small real work."""
        bucket = ctx.input("bucket")
        reporter.command(cmd("aws", "s3", "mb", f"s3://{bucket}"))
        bad = workdir() / "bad-view"
        if bad.exists():
            # views the interface cannot draw (a list where a mapping belongs), as a buggy step
            # could send: each is an unexpected error in the app's own handler
            for _ in range(int(bad.read_text() or "1")):
                reporter.show("digits", ["not", "a", "mapping"])
        for i in range(3):
            reporter.progress("uploading", i, 3, "files")
        reporter.progress("uploading", 3, 3, "files")
        path = workdir() / bucket
        path.mkdir(exist_ok=True)
        ctx.ledger.record(Resource(kind="s3-bucket", name=bucket, step=self.id))
        reporter.log(f"bucket {bucket} ready", "success")
        return {"bucket": bucket}

    def verify(self, ctx, outputs):
        """Check the result still holds."""
        ok = (workdir() / outputs.get("bucket", "?")).is_dir()
        return VerifyResult(ok, "" if ok else "the bucket is gone")

    def commands(self, ctx):
        """The equivalent commands."""
        return [cmd("aws", "s3", "mb", f"s3://{ctx.input('bucket') or '<bucket>'}")]


class TrainStep(Step):
    """Reports a pipeline graph and resources; fails while ``fail-train`` exists."""

    id = "train"
    title = "Train"
    summary = "Train the model in a pipeline."
    lesson = "The pipeline trains **k-means** on the digits."

    def run(self, ctx, reporter):
        """Do the step's small real work."""
        import time

        reporter.command(cmd("kfp", "run", "create", "--experiment-name", "lab"))
        # 'hold-train' keeps the step busy (bounded) so a test can press keys while it runs
        deadline = time.monotonic() + 300  # generous: a loaded machine is slow to press keys
        while (workdir() / "hold-train").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        reporter.show("graph", GRAPH)
        reporter.show("resources", RESOURCES)
        fail = workdir() / "fail-train"
        if fail.exists():  # its text, when any, is the failure's message
            raise StepError(fail.read_text().strip() or
                            "the training job failed: ResourceLimitExceeded",
                            remediation="Ask for a higher quota, or use a smaller instance type.")
        (workdir() / "model.txt").write_text("centroids")
        return {"model": "model.txt"}

    def commands(self, ctx):
        """The equivalent commands."""
        return [cmd("kfp", "run", "create", "--experiment-name", "lab")]


class PredictStep(Step):
    """Asks for a secret (no default: the runner must prompt) and shows digits."""

    id = "predict"
    title = "Predict"
    summary = "Send digits to the endpoint."
    lesson = "Each digit is drawn beside the cluster it was put in."

    def input_specs(self):
        """The step's inputs."""
        return [InputSpec("api_token", "Endpoint token", secret=True)]

    def run(self, ctx, reporter):
        """Do the step's small real work."""
        if not ctx.input("api_token").reveal():
            raise StepError("empty token")
        reporter.show("digits", digits_data())
        (workdir() / "predicted.txt").write_text("ok")
        return {"predictions": 2}


def digits_data() -> dict:
    """Two 28×28 digits drawn from simple strokes: the same pixels on every call."""
    def blank():
        """An empty 28×28 image."""
        return [0.0] * (28 * 28)

    one, zero = blank(), blank()
    for r in range(5, 23):
        one[r * 28 + 14] = one[r * 28 + 13] = 1.0
    for r in range(6, 22):
        for c in range(8, 20):
            if r in (6, 7, 20, 21) or c in (8, 9, 18, 19):
                zero[r * 28 + c] = 1.0
    return {"endpoint": "kmeans-endpoint",
            "digits": [{"pixels": one, "label": 1, "cluster": 4, "distance": 3.25, "match": True},
                       {"pixels": zero, "label": 0, "cluster": 7, "distance": 5.5, "match": True}]}


STEPS = [PrepareStep, TrainStep, PredictStep]
