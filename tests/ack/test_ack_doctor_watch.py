"""The doctor's 'ack-reconciling' check: custom resources no controller has written a status into.

It reads the cluster through the doctor's cached look-ups; here the cache is filled with what the
cluster would answer, so the check's own judgement is what is tested.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from wizard.doctor.checks.ack_watch import ack_reconciling
from wizard.doctor.model import Skip


def _ago(seconds: float) -> str:
    """An RFC 3339 time ``seconds`` ago."""
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ctx(objects: list[dict]) -> SimpleNamespace:
    """A doctor context whose cluster has the lab's CRDs and these custom resources."""
    crds = {"Model": {"plural": "models", "version": "v1alpha1", "name": "models.x"}}
    return SimpleNamespace(cache={"ack_crds": crds, "ack_objects": objects}, namespace="ns")


def _model(name: str, age: float, status: dict | None) -> dict:
    """A Model custom resource created ``age`` seconds ago."""
    obj = {"kind": "Model", "metadata": {"name": name, "creationTimestamp": _ago(age)}}
    if status is not None:
        obj["status"] = status
    return obj


def test_a_resource_without_status_past_the_bound_fails_naming_the_controller():
    """Older than the components' bound with an empty status: fail, with how to check."""
    finding = ack_reconciling(_ctx([_model("watched", 900, {"conditions": []}),
                                    _model("orphan", 900, None)]))
    assert finding.status == "fail"
    assert "Model/orphan has no status after 5 minutes" in finding.found
    assert "kubectl get deploy -n ack-system" in finding.remediation


def test_young_resources_warn_and_reconciled_ones_pass():
    """Under the bound only a warning; a status of any kind passes; nothing to look at skips."""
    young = ack_reconciling(_ctx([_model("new", 10, None)]))
    assert young.status == "warn" and "no status yet" in young.found
    fine = ack_reconciling(_ctx([_model("a", 900, {"ackResourceMetadata": {"region": "r"}})]))
    assert fine.status == "pass"
    with pytest.raises(Skip):
        ack_reconciling(_ctx([]))
