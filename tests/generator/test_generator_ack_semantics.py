"""The embedded runtime against ACK's meaning of its conditions (issue 14, items 1 to 4).

The sandbox's Kubernetes API server and the real kubernetes client; the test plays the ACK
controller by writing status (or, for "no controller", writes nothing). Bounds are inputs set
small, so nothing here sleeps for a bound to pass.
"""
from __future__ import annotations

import json

import pytest

from generator_helpers import Controller, cond, start_kube, synced
from wizard.generator import runtime as rt

NS = "kubeflow-user-example-com"
GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
SYNCED_PLAN = {"status_field": None, "success": [], "failure": [], "reason_field": None}
ENDPOINT_PLAN = {"status_field": "endpointStatus", "success": ["InService"],
                 "failure": ["Failed", "OutOfService"], "reason_field": "failureReason"}
MODEL = {"kind": "Model", "group": GROUP, "version": VERSION, "plural": "models", "name_key": "modelName",
         "fields": {"model_name": {"key": "modelName", "type": "string", "required": True}},
         "wait": SYNCED_PLAN, "outputs": {"conditions": "conditions"}}
ENDPOINT = {"kind": "Endpoint", "group": GROUP, "version": VERSION, "plural": "endpoints",
            "name_key": "endpointName", "updatable": True, "wait": ENDPOINT_PLAN,
            "fields": {"endpoint_name": {"key": "endpointName", "type": "string", "required": True},
                       "endpoint_config_name": {"key": "endpointConfigName", "type": "string",
                                                "required": True}},
            "outputs": {"endpoint_status": "endpointStatus"}}
QUOTA = ("ResourceLimitExceeded: The account-level service limit 'ml.m5.large for endpoint usage' is 0 "
         "Instances, with current utilization of 0 Instances and a request delta of 1 Instances.")


@pytest.fixture(scope="module")
def kube(tmp_path_factory):
    """The sandbox's Kubernetes API server with the Endpoint and Model CRDs."""
    server, kubeconfig, api = start_kube(tmp_path_factory.mktemp("kube"), plurals=("endpoints", "models"))
    yield api
    server.stop()


def _get(api, plural, name):
    """The stored custom resource, or None."""
    return rt.AckClient(api, GROUP, VERSION, plural, NS).get(name)


def _run(api, component, values, **kw):
    """run_component in the test namespace with quick polling."""
    kw.setdefault("timeout_seconds", 30)
    return rt.run_component(component, values, namespace=NS, poll_interval_seconds=0.05, api=api, **kw)


# ---------------------------------------------------------------- item 1: region

def test_region_becomes_acks_annotation(kube):
    """The region input is ACK's services.k8s.aws/region annotation on the created resource."""
    ctl = Controller(kube, "models", NS, "model-in-region", [synced("arn:model")], gap=0.05)
    _run(kube, MODEL, {"model_name": "model-in-region"}, region="us-west-2")
    ctl.join()
    annotations = _get(kube, "models", "model-in-region")["metadata"]["annotations"]
    assert annotations == {"services.k8s.aws/region": "us-west-2"}


def test_no_region_means_no_annotation_and_a_bad_one_is_refused(kube):
    """Empty: the controller's default region (no annotation); not a region name: nothing created."""
    ctl = Controller(kube, "models", NS, "model-default-region", [synced("arn:model")], gap=0.05)
    _run(kube, MODEL, {"model_name": "model-default-region"})
    ctl.join()
    assert not _get(kube, "models", "model-default-region")["metadata"].get("annotations")
    with pytest.raises(rt.ComponentError, match=r"input 'region' \('Frankfurt'\) is not an AWS region"):
        _run(kube, MODEL, {"model_name": "model-bad-region"}, region="Frankfurt")
    assert _get(kube, "models", "model-bad-region") is None


def test_a_resource_living_in_another_region_is_not_adopted(kube):
    """ACK cannot move a resource between regions, so the task says so instead of waiting."""
    ctl = Controller(kube, "models", NS, "model-moved", [
        {**synced("arn:model"), "ackResourceMetadata": {"arn": "arn:model", "ownerAccountID": "123456789012",
                                                        "region": "eu-west-1"}}],
        gap=0.05)
    _run(kube, MODEL, {"model_name": "model-moved"}, region="eu-west-1")
    ctl.join()
    with pytest.raises(rt.ComponentError, match="already exists in region eu-west-1, not us-east-1"):
        _run(kube, MODEL, {"model_name": "model-moved"}, region="us-east-1")


# ---------------------------------------------------------------- item 2: recoverable

def test_recoverable_then_synced_succeeds(kube, capsys):
    """An EndpointConfig-before-Model style error (ACK.Recoverable) is waited out; its message is
    in the log at once."""
    missing = 'api error ValidationException: Could not find model "arn:aws:sagemaker:eu-west-1:1:model/m".'
    ctl = Controller(kube, "models", NS, "model-late", [cond("ACK.Recoverable", missing),
                                                        synced("arn:model")], gap=0.3)
    _run(kube, MODEL, {"model_name": "model-late"}, recoverable_seconds=20)
    ctl.join()
    out = capsys.readouterr().out
    assert f"model-late: ACK.Recoverable: {missing} (ACK retries it; the task fails if it lasts 20s)" in out
    assert "model-late: ACK.ResourceSynced=True" in out


def test_resource_limit_exceeded_is_shown_at_once_and_fails_after_the_bound(kube, capsys):
    """ResourceLimitExceeded is recoverable in ACK: logged as soon as seen, then the task fails with
    that message once it has lasted the bound."""
    ctl = Controller(kube, "endpoints", NS, "ep-quota", [cond("ACK.Recoverable", QUOTA)], gap=0.05)
    with pytest.raises(rt.ComponentError) as raised:
        _run(kube, ENDPOINT, {"endpoint_name": "ep-quota", "endpoint_config_name": "c1"},
             recoverable_seconds=0.5)
    ctl.join()
    message = str(raised.value)
    assert message.startswith("ep-quota stayed in error for over 0s: ACK.Recoverable: " + QUOTA[:60])
    assert "ACK retries it" not in message
    lines = capsys.readouterr().out.splitlines()
    shown = [i for i, line in enumerate(lines) if "ep-quota: ACK.Recoverable: ResourceLimitExceeded" in line]
    assert shown, lines
    # shown once, when it first appeared, not repeated on every poll
    assert len(shown) == 1


# ---------------------------------------------------------------- item 3: no controller; OutOfService

def test_no_controller_fails_within_the_bound_with_how_to_check(kube):
    """Nobody writes a status: the task fails after controller_seconds, naming the controller and
    kubectl get deploy -n ack-system, and removes the resource nobody reconciles."""
    with pytest.raises(rt.ComponentError) as raised:
        _run(kube, MODEL, {"model_name": "model-orphan"}, controller_seconds=0.4)
    message = str(raised.value)
    assert "no ACK controller reported on models/model-orphan" in message
    assert "ACK SageMaker controller" in message and "kubectl get deploy -n ack-system" in message
    assert _get(kube, "models", "model-orphan") is None


def test_a_status_written_in_time_means_a_controller(kube):
    """The controller bound only applies while the status is empty."""
    ctl = Controller(kube, "models", NS, "model-watched", [
        {"ackResourceMetadata": {"ownerAccountID": "123456789012", "region": "eu-west-1"}}, synced("arn:model")], gap=0.1)
    _run(kube, MODEL, {"model_name": "model-watched"}, controller_seconds=5)
    ctl.join()


@pytest.mark.parametrize("state", ["OutOfService", "Failed"])
def test_endpoint_out_of_service_or_failed_fails(kube, state):
    """Both end states of an endpoint that is not serving fail the task with the reason."""
    name = f"ep-{state.lower()}"
    ctl = Controller(kube, "endpoints", NS, name, [
        {"endpointStatus": state, "failureReason": "health check failed"}], gap=0.05)
    with pytest.raises(rt.ComponentError, match=f"endpointStatus={state}: health check failed"):
        _run(kube, ENDPOINT, {"endpoint_name": name, "endpoint_config_name": "c1"})
    ctl.join()


# ---------------------------------------------------------------- item 4: update

def _in_service(modified):
    """An InService endpoint status last modified at ``modified``."""
    return {"endpointStatus": "InService", "lastModifiedTime": modified, **synced("arn:ep")}


def test_rerun_with_a_new_config_updates_the_endpoint(kube, capsys):
    """A second run naming the same endpoint with a new config updates it and waits for the
    update, not for the old InService."""
    first = Controller(kube, "endpoints", NS, "ep-update", [_in_service("2026-01-01T00:00:00Z")], gap=0.05)
    _run(kube, ENDPOINT, {"endpoint_name": "ep-update", "endpoint_config_name": "config-run-1"},
         lineage="lab", run_id="run-1")
    first.join()
    # the controller reacts to the new spec: Updating, then InService again, later
    second = Controller(kube, "endpoints", NS, "ep-update", [
        {**_in_service("2026-01-01T00:00:00Z"), "endpointStatus": "Updating",
         "lastModifiedTime": "2026-01-02T00:00:00Z"},
        _in_service("2026-01-02T00:05:00Z")], gap=0.4)
    out = _run(kube, ENDPOINT, {"endpoint_name": "ep-update", "endpoint_config_name": "config-run-2"},
               lineage="lab", run_id="run-2")
    second.join()
    assert json.loads(out["endpoint_status"]) == "InService"
    stored = _get(kube, "endpoints", "ep-update")
    assert stored["spec"]["endpointConfigName"] == "config-run-2"
    assert stored["status"]["lastModifiedTime"] == "2026-01-02T00:05:00Z"  # the update's end, not the old state
    assert stored["metadata"]["labels"]["labwiz.dev/kfp-run-id"] == "run-2"
    log = capsys.readouterr().out
    assert "updated the existing Endpoint kubeflow-user-example-com/ep-update" in log
    assert "endpointStatus=Updating" in log


def test_an_update_no_controller_applies_is_not_taken_for_done(kube):
    """The old InService does not count: with nothing reacting, the task times out."""
    first = Controller(kube, "endpoints", NS, "ep-stuck", [_in_service("2026-01-01T00:00:00Z")], gap=0.05)
    _run(kube, ENDPOINT, {"endpoint_name": "ep-stuck", "endpoint_config_name": "config-a"})
    first.join()
    with pytest.raises(rt.ComponentError, match="timed out after 0.6s waiting for ep-stuck"):
        _run(kube, ENDPOINT, {"endpoint_name": "ep-stuck", "endpoint_config_name": "config-b"},
             timeout_seconds=0.6)
    # an endpoint the run updated was an earlier run's: the timeout leaves it in place
    assert _get(kube, "endpoints", "ep-stuck") is not None


def test_kinds_ack_does_not_update_still_refuse_another_spec(kube):
    """A Model with another spec under the same name is not silently reused."""
    ctl = Controller(kube, "models", NS, "model-fixed", [synced("arn:model")], gap=0.05)
    _run(kube, MODEL, {"model_name": "model-fixed"})
    ctl.join()
    table = {**MODEL, "fields": {**MODEL["fields"],
                                 "execution_role_arn": {"key": "executionRoleARN", "type": "string",
                                                        "required": False}}}
    with pytest.raises(rt.ComponentError, match="already exists in namespace .* with a different spec"):
        _run(kube, table, {"model_name": "model-fixed", "execution_role_arn": "arn:role"},
             resource_name="model-fixed")
