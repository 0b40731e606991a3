"""Removing the lab's SageMaker resources: endpoints, endpoint configs, models; stopping jobs.

SageMaker answers ValidationException (or ResourceNotFound for tuning jobs) for a name it does
not know, which here means the resource is already gone.
"""

from __future__ import annotations

from wizard.aws.errors import error_code, explain as explain_aws
from wizard.cleanup.common import GONE, REMOVED, WAIT_SECONDS, Keep, poll_every, wait_until
from wizard.protocol import cmd

_MISSING = ("ValidationException", "ResourceNotFound", "ResourceNotFoundException")

#: kind: (describe operation, name argument, status key, stop operation or None, delete operation)
SPECS = {
    "sagemaker-endpoint": ("describe_endpoint", "EndpointName", "EndpointStatus", None, "delete_endpoint"),
    "sagemaker-endpoint-config": ("describe_endpoint_config", "EndpointConfigName", None, None,
                                  "delete_endpoint_config"),
    "sagemaker-model": ("describe_model", "ModelName", None, None, "delete_model"),
    "sagemaker-training-job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus",
                               "stop_training_job", None),
    "sagemaker-processing-job": ("describe_processing_job", "ProcessingJobName",
                                 "ProcessingJobStatus", "stop_processing_job", None),
    "sagemaker-transform-job": ("describe_transform_job", "TransformJobName", "TransformJobStatus",
                                "stop_transform_job", None),
    "sagemaker-tuning-job": ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName",
                             "HyperParameterTuningJobStatus", "stop_hyper_parameter_tuning_job", None),
}


def _describe(ctx, kind: str, name: str) -> dict | None:
    """The resource's description, or None when SageMaker does not know it."""
    describe, arg, *_ = SPECS[kind]
    sm = ctx.clients.aws("sagemaker")
    try:
        return getattr(sm, describe)(**{arg: name})
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) in _MISSING:
            return None
        raise explain_aws(exc, f"describing {kind} {name}") from None


def status(ctx, item) -> str | None:
    """The resource's status (``""`` for kinds without one), or None when SageMaker does not
    know it."""
    described = _describe(ctx, item.kind, item.name)
    if described is None:
        return None
    status_key = SPECS[item.kind][2]
    return (described.get(status_key) or "") if status_key else ""


def exists(ctx, item) -> bool:
    """Whether the resource still exists (a job: whether it is still running)."""
    described = _describe(ctx, item.kind, item.name)
    if described is None:
        return False
    _d, _a, status_key, stop, _delete = SPECS[item.kind]
    if stop:  # a job cannot be deleted; what matters is that it no longer runs (and bills)
        return described.get(status_key) in ("InProgress", "Stopping")
    return True


def remove(ctx, item, wait: float = WAIT_SECONDS) -> str:
    """Delete the resource (an endpoint: and wait until it is gone); stop a running job (and
    wait until it no longer runs); waits are bounded by ``wait`` seconds."""
    _describe_op, arg, status_key, stop, delete = SPECS[item.kind]
    described = _describe(ctx, item.kind, item.name)
    if described is None:
        return GONE
    sm = ctx.clients.aws("sagemaker")
    if stop:
        if described.get(status_key) != "InProgress":
            return GONE
        try:
            getattr(sm, stop)(**{arg: item.name})
        except Exception as exc:  # noqa: BLE001
            # ACK (or the job itself) may have ended it since the describe above
            if error_code(exc) in _MISSING and not exists(ctx, item):
                return GONE
            raise explain_aws(exc, f"stopping {item.name}") from None
        if not wait_until(lambda: not exists(ctx, item), timeout=wait, every=poll_every(ctx)):
            raise Keep("still stopping; run cleanup again later")
        return REMOVED
    try:
        getattr(sm, delete)(**{arg: item.name})
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) in _MISSING:
            return GONE
        raise explain_aws(exc, f"deleting {item.kind} {item.name}") from None
    if status_key and not wait_until(lambda: _describe(ctx, item.kind, item.name) is None,
                                     timeout=wait, every=poll_every(ctx)):
        raise Keep("still deleting; run cleanup again later")
    return REMOVED


def command(item):
    """The equivalent aws command."""
    _d, _arg, _s, stop, delete = SPECS[item.kind]
    op = (stop or delete).replace("_", "-")
    flag = "--" + {"sagemaker-endpoint": "endpoint-name",
                   "sagemaker-endpoint-config": "endpoint-config-name",
                   "sagemaker-model": "model-name", "sagemaker-training-job": "training-job-name",
                   "sagemaker-processing-job": "processing-job-name",
                   "sagemaker-transform-job": "transform-job-name",
                   "sagemaker-tuning-job": "hyper-parameter-tuning-job-name"}[item.kind]
    return cmd("aws", "sagemaker", op, flag, item.name)
