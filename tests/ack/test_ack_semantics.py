"""The sandbox's ACK controller behaves as real ACK (v1.9.1) does where the lab meets it.

Error sorting per kind from generator.yaml (see test_ack_facts.py for the facts themselves), the
conditions' wording, and the region annotation choosing the region a resource lives in, each
checked through an observer other than the controller: SageMaker through boto3, per region.
"""

from __future__ import annotations

from typing import Any

import pytest

from ack_lab import (GROUP, NS, REGION, VERSION, _condition, _create, _get, _kmeans_job,  # noqa: F401
                     _plural, _set_faults, _synced, _wait, lab)

pytestmark = pytest.mark.timeout(240)
OTHER_REGION = "us-west-2"


def _sagemaker(lab: Any, region: str) -> Any:
    """A boto3 SageMaker client signing for ``region`` (the learner's view of that region)."""
    import boto3

    from wizard.sandbox.aws import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

    return boto3.client("sagemaker", endpoint_url=lab.aws.url, region_name=region,
                        aws_access_key_id=TEST_ACCESS_KEY_ID,
                        aws_secret_access_key=TEST_SECRET_ACCESS_KEY)


def _model(lab: Any, name: str, region: str | None = None) -> dict:
    """A Model resource (CreateModel needs only an assumable role and a container)."""
    from ack_samples import model
    from wizard.kmeans_images import kmeans_image_uri

    body = model(name)
    body["spec"]["executionRoleARN"] = lab.account.execution_role_arn
    body["spec"]["primaryContainer"].update(
        image=kmeans_image_uri(region or REGION),
        modelDataURL=f"s3://{lab.account.bucket}/ack-test/model.tar.gz")
    if region:
        body["metadata"]["annotations"] = {"services.k8s.aws/region": region}
    return body


def _recoverable(lab: Any, plural: str, name: str) -> dict | None:
    """The resource once ACK.Recoverable is True, else None."""
    obj = _get(lab, plural, name)
    cond = _condition(obj, "ACK.Recoverable")
    return obj if cond and cond["status"] == "True" else None


def test_endpoint_config_before_its_model_is_recoverable_then_synced(lab: Any) -> None:
    """EndpointConfig's terminal codes leave out ValidationException: applied before its Model,
    it is ACK.Recoverable with SageMaker's message, and syncs on its own once the Model exists."""
    from ack_samples import endpoint_config

    _create(lab, endpoint_config("ack-early-config", model_name="ack-late-model"))
    obj = _wait("ACK.Recoverable", lambda: _recoverable(lab, "endpointconfigs", "ack-early-config"))
    message = _condition(obj, "ACK.Recoverable")["message"]
    assert message.startswith('api error ValidationException: Could not find model "arn:aws:sagemaker:'), message
    assert _condition(obj, "ACK.Terminal") is None
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "Unknown"
    with pytest.raises(Exception, match="Could not find endpoint configuration"):
        lab.sm.describe_endpoint_config(EndpointConfigName="ack-early-config")

    _create(lab, _model(lab, "ack-late-model"))
    synced = _wait("the endpoint config to sync once its model exists",
                   lambda: _synced(lab, "EndpointConfig", "ack-early-config"), timeout=120)
    assert _condition(synced, "ACK.Recoverable") is None
    assert _condition(synced, "Ready")["status"] == "True"
    described = lab.sm.describe_endpoint_config(EndpointConfigName="ack-early-config")
    assert described["ProductionVariants"][0]["ModelName"] == "ack-late-model"


def test_resource_limit_exceeded_is_recoverable_with_its_message(lab: Any) -> None:
    """ResourceLimitExceeded is in no lab kind's terminal codes: the training job is
    ACK.Recoverable with the quota message (the Go SDK's "Code: message" for a modelled error),
    and is created once the quota allows it."""
    _set_faults(lab, "training=ResourceLimitExceeded")
    try:
        body = _kmeans_job(lab, "ack-train-quota")
        body["spec"]["stoppingCondition"]["maxRuntimeInSeconds"] = 3600
        _create(lab, body)
        obj = _wait("ACK.Recoverable", lambda: _recoverable(lab, "trainingjobs", "ack-train-quota"))
    finally:
        _set_faults(lab)
    message = _condition(obj, "ACK.Recoverable")["message"]
    assert message.startswith("ResourceLimitExceeded: The account-level service limit"), message
    assert _condition(obj, "ACK.Terminal") is None
    assert _condition(obj, "Ready")["message"] == message
    created = _wait("the job to be created once the quota allows it", lambda: (
        (_get(lab, "trainingjobs", "ack-train-quota") or {}).get("status", {})
        .get("ackResourceMetadata", {}).get("arn")), timeout=120)
    assert created == lab.sm.describe_training_job(TrainingJobName="ack-train-quota")["TrainingJobArn"]
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, "trainingjobs", "ack-train-quota")
    _wait("the resource to be removed", lambda: _get(lab, "trainingjobs", "ack-train-quota") is None,
          timeout=120)


def test_region_annotation_puts_the_resource_in_that_region(lab: Any) -> None:
    """services.k8s.aws/region makes the controller (default eu-west-1) create the Model in
    us-west-2: SageMaker in us-west-2 has it, SageMaker in eu-west-1 does not."""
    _create(lab, _model(lab, "ack-model-west", region=OTHER_REGION))
    obj = _wait("the model to sync", lambda: _synced(lab, "Model", "ack-model-west"))
    meta = obj["status"]["ackResourceMetadata"]
    assert meta["region"] == OTHER_REGION
    west = _sagemaker(lab, OTHER_REGION).describe_model(ModelName="ack-model-west")
    assert west["ModelArn"] == meta["arn"] and f":sagemaker:{OTHER_REGION}:" in meta["arn"]
    with pytest.raises(Exception, match="Could not find model"):
        _sagemaker(lab, REGION).describe_model(ModelName="ack-model-west")

    # deleting it deletes it in its own region
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, "models", "ack-model-west")
    _wait("the resource to be removed", lambda: _get(lab, "models", "ack-model-west") is None)
    with pytest.raises(Exception, match="Could not find model"):
        _sagemaker(lab, OTHER_REGION).describe_model(ModelName="ack-model-west")


def test_moving_a_resource_to_another_region_is_refused(lab: Any) -> None:
    """As real ACK: an annotation naming another region than the one the resource lives in
    changes nothing (the controller refuses the pass); the resource stays where it is."""
    _create(lab, _model(lab, "ack-model-stays"))
    _wait("the model to sync", lambda: _synced(lab, "Model", "ack-model-stays"))
    lab.api.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "models", "ack-model-stays",
        {"metadata": {"annotations": {"services.k8s.aws/region": OTHER_REGION}}})
    obj = _get(lab, "models", "ack-model-stays")
    assert obj["status"]["ackResourceMetadata"]["region"] == REGION
    with pytest.raises(Exception, match="Could not find model"):
        _sagemaker(lab, OTHER_REGION).describe_model(ModelName="ack-model-stays")
    assert lab.sm.describe_model(ModelName="ack-model-stays")["ModelName"] == "ack-model-stays"
