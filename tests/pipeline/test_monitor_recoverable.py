"""Run monitoring says why a resource waits: an ACK.Recoverable message shows on the next poll.

The custom resources are served by a stand-in for the Kubernetes client (this checks what the
follower makes of them, not the cluster); everything else is the real Follower.
"""

from __future__ import annotations

from types import SimpleNamespace

from assets.pipeline.naming import resource_names
from wizard.kfp_ops.monitor import Follower

RUN_ID = "5e7d3c1a-0000-4000-8000-000000000001"
QUOTA = ("ResourceLimitExceeded: The account-level service limit 'ml.m5.large for endpoint usage' "
         "is 0 Instances")


class _NotFound(Exception):
    """The client's 404."""

    status = 404


class _Objects:
    """get_namespaced_custom_object over a dict {(plural, name): object}; 404 otherwise."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict] = {}

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        """The stored object."""
        if (plural, name) not in self.objects:
            raise _NotFound()
        return self.objects[(plural, name)]


class _Reporter:
    """Keeps the log lines."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def log(self, message: str, level: str = "info") -> None:
        """Keep one line."""
        self.lines.append((level, message))

    def show(self, *args, **kwargs) -> None:
        """Views are not looked at here."""


def _endpoint(conditions: list[dict]) -> dict:
    """The run's Endpoint resource with these conditions."""
    name = resource_names(RUN_ID)["ep"]
    return {"kind": "Endpoint", "metadata": {"name": name, "creationTimestamp": ""},
            "spec": {"endpointName": name},
            "status": {"endpointStatus": None, "conditions": conditions}}


def test_a_recoverable_message_is_logged_on_the_next_poll_once():
    """A poll that finds ACK.Recoverable logs its message as a warning; the next poll with the
    same message does not repeat it."""
    objects = _Objects()
    logs = SimpleNamespace(describe_log_streams=lambda **kw: {"logStreams": []})
    ctx = SimpleNamespace(
        clients=SimpleNamespace(custom_objects=lambda: objects, aws=lambda service: logs),
        ledger=SimpleNamespace(record=lambda resource: None))
    reporter = _Reporter()
    follower = Follower(ctx, reporter, None, RUN_ID, {}, "ns", fast=True)
    name = resource_names(RUN_ID)["ep"]
    objects.objects[("endpoints", name)] = _endpoint([])
    follower._resources()
    assert not [m for level, m in reporter.lines if "Recoverable" in m]

    objects.objects[("endpoints", name)] = _endpoint([
        {"type": "ACK.Recoverable", "status": "True", "message": QUOTA},
        {"type": "ACK.ResourceSynced", "status": "Unknown", "message": "Unable to determine"}])
    follower._resources()
    shown = [(level, m) for level, m in reporter.lines if "ACK.Recoverable" in m]
    assert shown == [("warning", f"Endpoint {name}: ACK.Recoverable (ACK retries): {QUOTA}")]

    follower._resources()  # the same message again: not repeated
    assert len([m for _, m in reporter.lines if "ACK.Recoverable" in m]) == 1


def _training(status: str) -> dict:
    """The run's TrainingJob resource in ``status``."""
    name = resource_names(RUN_ID)["train"]
    return {"kind": "TrainingJob", "metadata": {"name": name, "creationTimestamp": ""},
            "spec": {"trainingJobName": name},
            "status": {"trainingJobStatus": status, "conditions": []}}


class _Logs:
    """CloudWatch Logs with one stream whose last line is ``line``; counts the reads."""

    def __init__(self) -> None:
        self.line, self.reads = "epoch 1", 0

    def describe_log_streams(self, **kwargs):
        """One stream."""
        self.reads += 1
        return {"logStreams": [{"logStreamName": "s", "lastEventTimestamp": 1}]}

    def get_log_events(self, **kwargs):
        """The stream's last line."""
        return {"events": [{"message": self.line}]}


def _follower_with_logs(fast: bool):
    """(follower, objects, logs) for the tests below."""
    objects, logs = _Objects(), _Logs()
    ctx = SimpleNamespace(
        clients=SimpleNamespace(custom_objects=lambda: objects, aws=lambda service: logs),
        ledger=SimpleNamespace(record=lambda resource: None))
    return Follower(ctx, _Reporter(), None, RUN_ID, {}, "ns", fast=fast), objects, logs


def test_a_finished_jobs_log_tail_is_read_once_after_it_finished():
    """Running: its log is read on every poll. Finished: read once more (its last lines), then
    kept; the rows still carry that tail."""
    follower, objects, logs = _follower_with_logs(fast=True)
    name = resource_names(RUN_ID)["train"]
    objects.objects[("trainingjobs", name)] = _training("InProgress")
    follower._resources()
    follower._resources()
    assert logs.reads == 2
    logs.line = "model written"
    objects.objects[("trainingjobs", name)] = _training("Completed")
    follower._resources()
    assert logs.reads == 3 and follower.resources[0]["log_tail"] == ["model written"]
    logs.line = "never read"
    for _ in range(3):
        follower._resources()
    assert logs.reads == 3
    assert follower.resources[0]["log_tail"] == ["model written"]


def test_on_aws_a_finished_jobs_log_is_read_until_cloudwatch_caught_up():
    """Off the sandbox, CloudWatch may lag a job's end: a finished job's log is read again
    until 60 s after it was first seen finished."""
    follower, objects, logs = _follower_with_logs(fast=False)
    name = resource_names(RUN_ID)["train"]
    objects.objects[("trainingjobs", name)] = _training("Completed")
    follower._resources()
    follower._resources()
    assert logs.reads == 2
    follower._finished_at[name] -= 61  # as if first seen finished a minute ago
    follower._resources()
    follower._resources()
    assert logs.reads == 3


def test_training_phases_a_poll_missed_come_from_sagemakers_history():
    """A poll that finds the training job two phases on logs the phase in between from
    SageMaker's SecondaryStatusTransitions, in order, before the current one; a job first seen
    Completed logs every phase it went through; nothing is invented when the history lacks it."""
    objects = _Objects()
    history = {"SecondaryStatusTransitions": [
        {"Status": "Starting"}, {"Status": "Downloading"}, {"Status": "Training"},
        {"Status": "Uploading"}, {"Status": "Completed"}]}
    sagemaker = SimpleNamespace(describe_training_job=lambda **kw: history)
    logs = SimpleNamespace(describe_log_streams=lambda **kw: {"logStreams": []})
    ctx = SimpleNamespace(
        clients=SimpleNamespace(custom_objects=lambda: objects,
                                aws=lambda service: sagemaker if service == "sagemaker"
                                else logs),
        ledger=SimpleNamespace(record=lambda resource: None))
    reporter = _Reporter()
    follower = Follower(ctx, reporter, None, RUN_ID, {}, "ns", fast=True)
    name = resource_names(RUN_ID)["train"]

    def look(status: str, secondary: str) -> list[str]:
        job = _training(status)
        job["status"]["secondaryStatus"] = secondary
        objects.objects[("trainingjobs", name)] = job
        before = len(reporter.lines)
        follower._resources()
        return [m.split(": ", 1)[1] for _, m in reporter.lines[before:]]

    assert look("InProgress", "Starting") == ["InProgress (Starting)"]
    assert look("InProgress", "Training") == ["InProgress (Downloading)",
                                              "InProgress (Training)"]
    assert look("Completed", "Completed") == ["InProgress (Uploading)", "Completed (Completed)"]
    follower2 = Follower(ctx, reporter, None, RUN_ID, {}, "ns", fast=True)
    follower, before = follower2, len(reporter.lines)
    follower._resources()
    assert [m.split(": ", 1)[1] for _, m in reporter.lines[before:]] == [
        "InProgress (Starting)", "InProgress (Downloading)", "InProgress (Training)",
        "InProgress (Uploading)", "Completed (Completed)"]
    history["SecondaryStatusTransitions"] = []  # no history: only what the poll saw
    assert look("InProgress", "Training") == ["InProgress (Training)"]
