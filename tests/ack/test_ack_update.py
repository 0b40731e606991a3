"""A spec change after creation, as sagemaker-controller v1.9.1 handles it (see
wizard/sandbox/ack/update.py): a TrainingJob refuses anything but its warm pool or profiler,
the kinds without an update refuse everything ("not implemented"), both as ACK.Terminal.
The cluster and SageMaker (through boto3) are the observers."""

from __future__ import annotations

from typing import Any

import pytest

from ack_lab import (GROUP, NS, VERSION, _condition, _create, _get, _kmeans_job,  # noqa: F401
                     _synced, _wait, lab)
from wizard.sandbox.ack import update

pytestmark = pytest.mark.timeout(240)
OLD_FINALIZER = "finalizers.sagemaker.services.k8s.aws/models"
NEW_FINALIZER = "finalizers.sagemaker.services.k8s.aws/Model"

_DESCRIBED = {"TrainingJobName": "j", "TrainingJobStatus": "Completed",
              "HyperParameters": {"k": "3"},
              "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                 "VolumeSizeInGB": 5},
              "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}


def _spec(**changes: Any) -> dict:
    """A TrainingJob spec matching _DESCRIBED, with ``changes`` applied."""
    spec = {"trainingJobName": "j", "hyperParameters": {"k": "3"},
            "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large",
                               "volumeSizeInGB": 5},
            "stoppingCondition": {"maxRuntimeInSeconds": 3600}}
    spec.update(changes)
    return spec


def test_unchanged_spec_differs_in_nothing() -> None:
    """Fields Describe adds (defaults) or leaves out do not count as a change."""
    described = dict(_DESCRIBED, EnableNetworkIsolation=False)
    assert update.changed_members("TrainingJob", _spec(), described) == set()
    assert update.changed_members("TrainingJob", _spec(tags=[{"key": "a", "value": "b"}]),
                                  described) == set()


def test_training_job_refuses_other_changes() -> None:
    """A hyperparameter change: "only Warm Pool or Profiler can be updated"; warm pool and
    profiler together: refused too; a warm pool the job never had: refused."""
    spec = _spec(hyperParameters={"k": "4"})
    changed = update.changed_members("TrainingJob", spec, _DESCRIBED)
    assert changed == {"HyperParameters"}
    with pytest.raises(update.UpdateRefused, match="^only Warm Pool or Profiler can be updated$"):
        update.training_update(spec, _DESCRIBED, changed)
    both = _spec(resourceConfig={"instanceCount": 1, "instanceType": "ml.m5.large",
                                 "volumeSizeInGB": 5, "keepAlivePeriodInSeconds": 60},
                 profilerConfig={"s3OutputPath": "s3://b/p"})
    changed = update.changed_members("TrainingJob", both, _DESCRIBED)
    with pytest.raises(update.UpdateRefused, match="^cannot update Warm pool and Profiler"):
        update.training_update(both, _DESCRIBED, changed | {"ProfilerConfig"})
    warm = _spec(resourceConfig=both["resourceConfig"])
    with pytest.raises(update.UpdateRefused, match="^warm pool does not exist"):
        update.training_update(warm, _DESCRIBED, {"ResourceConfig"})


def test_warm_pool_update_of_a_completed_job_is_requested() -> None:
    """The one change a completed job takes: its warm pool period, sent alone."""
    described = dict(_DESCRIBED, ResourceConfig=dict(_DESCRIBED["ResourceConfig"],
                                                     KeepAlivePeriodInSeconds=60))
    spec = _spec(resourceConfig={"instanceCount": 1, "instanceType": "ml.m5.large",
                                 "volumeSizeInGB": 5, "keepAlivePeriodInSeconds": 120})
    changed = update.changed_members("TrainingJob", spec, described)
    assert update.training_update(spec, described, changed) == {
        "TrainingJobName": "j", "ResourceConfig": {"KeepAlivePeriodInSeconds": 120}}
    with pytest.raises(update.Requeue):
        update.training_update(spec, dict(described, TrainingJobStatus="InProgress"), changed)


def test_completed_training_job_spec_change_is_terminal(lab: Any) -> None:
    """Through the controller: the job stays Completed in SageMaker, the resource reports
    ACK.Terminal with ACK's text, ResourceSynced stays what the job's state says, and Ready is
    False with the terminal message; putting the spec back clears the Terminal condition."""
    _create(lab, _kmeans_job(lab, "ack-respec"))
    _wait("the job to complete", lambda: (lambda o: o if o and o["status"].get(
        "trainingJobStatus") == "Completed" else None)(_synced(lab, "TrainingJob", "ack-respec")),
          timeout=180)
    original = _get(lab, "trainingjobs", "ack-respec")["spec"]["hyperParameters"]
    lab.api.patch_namespaced_custom_object(GROUP, VERSION, NS, "trainingjobs", "ack-respec",
                                           {"spec": {"hyperParameters": {"k": "7"}}})
    obj = _wait("ACK.Terminal", lambda: (lambda o: o if _condition(o, "ACK.Terminal") else None)(
        _get(lab, "trainingjobs", "ack-respec")))
    assert _condition(obj, "ACK.Terminal")["message"] == update.ONLY_WARM_POOL_OR_PROFILER
    assert _condition(obj, "Ready")["status"] == "False"
    assert _condition(obj, "Ready")["message"] == update.ONLY_WARM_POOL_OR_PROFILER
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "True"
    described = lab.sm.describe_training_job(TrainingJobName="ack-respec")
    assert described["TrainingJobStatus"] == "Completed"
    assert described["HyperParameters"]["k"] == original["k"]

    lab.api.patch_namespaced_custom_object(GROUP, VERSION, NS, "trainingjobs", "ack-respec",
                                           {"spec": {"hyperParameters": {"k": original["k"]}}})
    _wait("the Terminal condition to clear", lambda: (
        lambda o: o if o and _condition(o, "ACK.Terminal") is None
        and _condition(o, "Ready")["status"] == "True" else None)(
        _get(lab, "trainingjobs", "ack-respec")))
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, "trainingjobs", "ack-respec")
    _wait("the resource to be removed", lambda: _get(lab, "trainingjobs", "ack-respec") is None)


def test_model_spec_change_is_terminal_not_implemented(lab: Any) -> None:
    """A Model has no update in ACK: a changed container is ACK.Terminal "not implemented",
    ResourceSynced False; SageMaker keeps the model as it was."""
    from test_ack_semantics import _model

    _create(lab, _model(lab, "ack-remodel"))
    _wait("the model to sync", lambda: _synced(lab, "Model", "ack-remodel"))
    lab.api.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "models", "ack-remodel",
        {"spec": {"primaryContainer": {"environment": {"A": "1"}}}})
    obj = _wait("ACK.Terminal", lambda: (lambda o: o if _condition(o, "ACK.Terminal") else None)(
        _get(lab, "models", "ack-remodel")))
    assert _condition(obj, "ACK.Terminal")["message"] == update.NOT_IMPLEMENTED
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "False"
    container = lab.sm.describe_model(ModelName="ack-remodel")["PrimaryContainer"]
    assert "A" not in (container.get("Environment") or {})
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, "models", "ack-remodel")
    _wait("the resource to be removed", lambda: _get(lab, "models", "ack-remodel") is None)



def test_old_plural_finalizer_is_migrated(lab: Any) -> None:
    """A resource made by an earlier sandbox carries ``.../models`` (the plural): the controller
    moves it to real ACK's ``.../Model``, and deleting it then deletes the SageMaker model."""
    from test_ack_semantics import _model

    body = _model(lab, "ack-oldfin")
    body["metadata"]["finalizers"] = [OLD_FINALIZER]
    _create(lab, body)
    obj = _wait("the finalizer to be renamed", lambda: (
        lambda o: o if o and o["metadata"].get("finalizers") == [NEW_FINALIZER]
        and _condition(o, "ACK.ResourceSynced") else None)(_get(lab, "models", "ack-oldfin")))
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "True"
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, "models", "ack-oldfin")
    _wait("the resource to be removed", lambda: _get(lab, "models", "ack-oldfin") is None)
    with pytest.raises(Exception, match="Could not find model"):
        lab.sm.describe_model(ModelName="ack-oldfin")


def test_deleting_with_only_the_old_finalizer_deletes_the_model(lab: Any) -> None:
    """A resource already being deleted that holds only the old finalizer: a pass (run here
    directly, in a namespace the lab's controller does not watch) deletes the SageMaker model
    and releases the resource."""
    from kubernetes import client

    from test_ack_semantics import _model
    from wizard.sandbox.ack.reconcile import Reconciler

    ns = "ack-legacy"
    client.CoreV1Api(lab.api.api_client).create_namespace({"metadata": {"name": ns}})
    body = _model(lab, "ack-oldfin-del")
    body["metadata"].update(namespace=ns, finalizers=[OLD_FINALIZER])
    spec = body["spec"]
    lab.sm.create_model(ModelName="ack-oldfin-del", ExecutionRoleArn=spec["executionRoleARN"],
                        PrimaryContainer={"Image": spec["primaryContainer"]["image"]})
    lab.api.create_namespaced_custom_object(GROUP, VERSION, ns, "models", body)
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, ns, "models", "ack-oldfin-del")
    assert lab.api.get_namespaced_custom_object(GROUP, VERSION, ns, "models", "ack-oldfin-del")[
        "metadata"]["deletionTimestamp"]
    reconciler = Reconciler(lab.api, lab.sm, lab.region if hasattr(lab, "region") else
                            lab.sm.meta.region_name, lab.account.account_id, 0.2)
    _wait("the resource to be released", lambda: reconciler.reconcile(
        "Model", ns, "ack-oldfin-del") is not None and _gone(lab, ns, "ack-oldfin-del"))
    with pytest.raises(Exception, match="Could not find model"):
        lab.sm.describe_model(ModelName="ack-oldfin-del")


def _gone(lab: Any, ns: str, name: str) -> bool:
    """Whether the Model resource is gone from namespace ``ns``."""
    from kubernetes.client.exceptions import ApiException

    try:
        lab.api.get_namespaced_custom_object(GROUP, VERSION, ns, "models", name)
    except ApiException as exc:
        return exc.status == 404
    return False
