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
