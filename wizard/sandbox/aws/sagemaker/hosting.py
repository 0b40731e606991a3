"""Models, endpoint configs, endpoints, and sagemaker-runtime's InvokeEndpoint.

CreateEndpoint answers at once with ``Creating``; a background thread has a worker fetch the
model's ``model.tar.gz`` and keep its centroids in the endpoint's folder, then the endpoint turns
``InService`` (or ``Failed`` with SageMaker's reason). InvokeEndpoint answers from those
centroids in this process: a nearest-centroid search is a few microseconds of numpy.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from .common import KINDS, claim, describe, list_kind, request_part, require
from .context import now
from .errors import SageMakerError, limit_exceeded, missing, validation

HEALTH_CHECK_FAILURE = ("The primary container for production variant {variant} did not pass the "
                        "ping health check. Please check CloudWatch logs for this endpoint.")


def create_model(app: Any, params: dict) -> dict:
    """CreateModel (the execution role must be assumable by SageMaker)."""
    name = params["ModelName"]
    if app.store.exists("Model", name):
        claim(app, "Model", name, {}, None)
    if not params.get("PrimaryContainer") and not params.get("Containers"):
        raise validation("A model needs a PrimaryContainer or Containers.")
    if not params.get("ExecutionRoleArn"):
        raise validation("ExecutionRoleArn is required for this model.")
    app.ctx.check_role(params["ExecutionRoleArn"], app.scenario("role") == "AccessDenied")
    record = request_part(params)
    record["CreationTime"] = now()
    record.setdefault("EnableNetworkIsolation", False)
    return {"ModelArn": claim(app, "Model", name, record, params.get("Tags"))}


def delete_model(app: Any, params: dict) -> dict:
    """DeleteModel."""
    require(app, "Model", params["ModelName"])
    app.store.delete("Model", params["ModelName"])
    return {}


def create_endpoint_config(app: Any, params: dict) -> dict:
    """CreateEndpointConfig (every variant's model must exist)."""
    name = params["EndpointConfigName"]
    if app.store.exists("EndpointConfig", name):
        claim(app, "EndpointConfig", name, {}, None)
    for variant in params["ProductionVariants"]:
        if variant.get("ModelName"):
            require(app, "Model", variant["ModelName"])
    record = request_part(params)
    record["CreationTime"] = now()
    record.setdefault("EnableNetworkIsolation", False)  # as DescribeEndpointConfig shows it
    arn = claim(app, "EndpointConfig", name, record, params.get("Tags"))
    return {"EndpointConfigArn": arn}


def delete_endpoint_config(app: Any, params: dict) -> dict:
    """DeleteEndpointConfig."""
    require(app, "EndpointConfig", params["EndpointConfigName"])
    app.store.delete("EndpointConfig", params["EndpointConfigName"])
    return {}


def _variant(app: Any, config: dict) -> dict:
    """The first production variant of a config (the one the sandbox serves)."""
    variants = config.get("ProductionVariants") or []
    if not variants:
        raise validation("The endpoint configuration has no production variants.")
    return variants[0]


def _check_limit(app: Any, config: dict) -> None:
    """The endpoint=ResourceLimitExceeded fault refuses the variant's instance type."""
    if app.scenario("endpoint") == "ResourceLimitExceeded":
        instance = _variant(app, config).get("InstanceType") or "ml.m5.large"
        raise limit_exceeded(instance, "endpoint usage")


def create_endpoint(app: Any, params: dict) -> dict:
    """CreateEndpoint: Creating now, InService (or Failed) when the model is loaded."""
    name = params["EndpointName"]
    if app.store.exists("Endpoint", name):
        claim(app, "Endpoint", name, {}, None)
    config = require(app, "EndpointConfig", params["EndpointConfigName"])
    _check_limit(app, config)
    t = now()
    record = request_part(params)
    record.update({"EndpointStatus": "Creating", "CreationTime": t, "LastModifiedTime": t})
    arn = claim(app, "Endpoint", name, record, params.get("Tags"))
    app.spawn(deploy, app, name, params["EndpointConfigName"], False, name=f"endpoint:{name}")
    return {"EndpointArn": arn}


def update_endpoint(app: Any, params: dict) -> dict:
    """UpdateEndpoint: Updating, then InService on the new config (or back on the old one)."""
    name = params["EndpointName"]
    record = require(app, "Endpoint", name)
    config = require(app, "EndpointConfig", params["EndpointConfigName"])
    if record["EndpointStatus"] != "InService":
        raise validation(f'Cannot update in-progress endpoint "{record["EndpointArn"]}".')
    _check_limit(app, config)
    app.store.update("Endpoint", name, EndpointStatus="Updating", LastModifiedTime=now(),
                     FailureReason=None)
    app.spawn(deploy, app, name, params["EndpointConfigName"], True, name=f"endpoint:{name}")
    return {"EndpointArn": record["EndpointArn"]}


def _serving_dir(app: Any, name: str) -> Path:
    """Where an endpoint's loaded model lives."""
    return app.data_dir / "endpoints" / name


#: the least time an endpoint stays Creating (or Updating), in paces: a learner sees it, as in
#: SageMaker, however quickly the model loads
DEPLOY_PACES = 3


def deploy(app: Any, name: str, config_name: str, update: bool) -> None:
    """Load the config's model for the endpoint and put it in service (own thread).

    The pace is a floor, as for jobs: the worker loads the model during the endpoint's
    ``DEPLOY_PACES`` paces (its own phases count from the deployment's start), and the
    outcome is recorded once they have passed, not after them.
    """
    # CLOCK_MONOTONIC is one clock for every process on the machine: the worker compares it
    began = time.monotonic()
    stop = app.stop_event("Endpoint", name)
    config = app.store.get("EndpointConfig", config_name)
    reason = None
    model_path = None
    variant = _variant(app, config) if config is not None else {}
    model = app.store.get("Model", variant.get("ModelName", "")) if config is not None else None
    if config is None:
        reason = f'Could not find endpoint configuration "{config_name}".'
    elif model is None:
        reason = f'Could not find model "{variant.get("ModelName")}".'
    elif app.scenario("endpoint") == "FailedToReachInService":
        reason = HEALTH_CHECK_FAILURE.format(variant=variant.get("VariantName", "AllTraffic"))
    else:
        from .jobs import build_task

        target = _serving_dir(app, name) / f"v{int(now() * 1000)}"
        task = build_task(app, "hosting", name, {}, {
            "kind": "hosting", "work_dir": str(target), "phase_began": began,
            "request": {"model": {k: v for k, v in model.items() if not k.startswith("_")},
                        "VariantName": variant.get("VariantName", "AllTraffic")}})
        final = app.pool.run(task, lambda ev: None, stop, target / "worker.log")
        if app.closed.is_set() or final.get("event") == "stopped":
            return
        if final.get("event") == "done":
            model_path = final["result"]["model_path"]
        else:
            reason = final.get("reason") or "InternalServerError"
    left = began + DEPLOY_PACES * app.delay - time.monotonic()
    if (left > 0 and app.closed.wait(left)) or app.closed.is_set() or stop.is_set():
        return
    _settle(app, name, config_name, config, update, model_path, reason)


def _settle(app: Any, name: str, config_name: str, config: dict | None, update: bool,
            model_path: str | None, reason: str | None) -> None:
    """Record the outcome of a deployment."""
    t = now()

    def apply(record: dict) -> None:
        """Change the endpoint record in place (under the store's lock)."""
        if record.get("EndpointStatus") == "Deleting":
            return
        record["LastModifiedTime"] = t
        if reason is not None:
            record["FailureReason"] = reason
            # a failed update rolls back: the endpoint keeps serving its old model
            record["EndpointStatus"] = "InService" if update else "Failed"
            return
        variant = _variant(app, config)
        model = app.store.get("Model", variant["ModelName"]) or {}
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        image = container.get("Image", "")
        count = variant.get("InitialInstanceCount", 1)
        record.update({
            "EndpointStatus": "InService", "EndpointConfigName": config_name,
            "_model_path": model_path,
            "ProductionVariants": [{
                "VariantName": variant.get("VariantName", "AllTraffic"),
                "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": image,
                                    "ResolutionTime": t}],
                "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
                "CurrentInstanceCount": count, "DesiredInstanceCount": count,
            }],
        })
        record.pop("FailureReason", None)

    app.store.mutate("Endpoint", name, apply)


def delete_endpoint(app: Any, params: dict) -> dict:
    """DeleteEndpoint: Deleting, then gone (its loaded model too)."""
    name = params["EndpointName"]
    require(app, "Endpoint", name)
    app.store.update("Endpoint", name, EndpointStatus="Deleting", LastModifiedTime=now())
    app.stop_event("Endpoint", name).set()

    def remove() -> None:
        """After one phase, forget the endpoint and its loaded model."""
        app.sleep()
        app.store.delete("Endpoint", name)
        app.stops.pop(("Endpoint", name), None)
        shutil.rmtree(_serving_dir(app, name), ignore_errors=True)

    app.spawn(remove, name=f"delete-endpoint:{name}")
    return {}


def _served_model(app: Any, path: str) -> dict:
    """The centroids an endpoint serves (read once per file, kept as numpy)."""
    import numpy as np

    cached = app.served_models.get(path)
    mtime = Path(path).stat().st_mtime
    if cached is None or cached[0] != mtime:
        doc = json.loads(Path(path).read_text())
        doc["centroids"] = np.asarray(doc["centroids"], dtype=np.float32)
        cached = (mtime, doc)
        app.served_models[path] = cached
    return cached[1]


def invoke(app: Any, name: str, body: bytes, content_type: str | None,
           accept: str | None) -> tuple[int, bytes, str, list]:
    """InvokeEndpoint: (status, body, content type, extra headers) or a SageMakerError."""
    from wizard.sandbox.compute.serving import InferenceError, infer

    account = app.ctx.account_id
    arn = app.ctx.arn("endpoint", name)
    if app.scenario("invoke") == "AccessDenied":
        caller = app.ctx.identity().get("Arn", f"arn:aws:iam::{account}:user/learner")
        raise SageMakerError(
            "AccessDeniedException",
            f"User: {caller} is not authorized to perform: sagemaker:InvokeEndpoint on resource: "
            f"{arn} because no identity-based policy allows the sagemaker:InvokeEndpoint action",
            403)
    record = app.store.get("Endpoint", name)
    if record is None or record.get("EndpointStatus") not in ("InService", "Updating") \
            or not record.get("_model_path"):
        raise SageMakerError("ValidationError", f"Endpoint {name} of account {account} not found.")
    if not body:
        raise SageMakerError("ValidationError", "Request body is empty; send the records to score.")
    try:
        model = _served_model(app, record["_model_path"])
        payload, ctype = infer(model, body, content_type, accept)
    except (OSError, ValueError) as err:
        message = str(err)
        if not isinstance(err, InferenceError):
            message = f"the model could not be loaded ({err})"
        group = f"/aws/sagemaker/Endpoints/{name}"
        raise SageMakerError(
            "ModelError",
            f'Received client error (400) from primary with message "{message}". See the log '
            f"group {group} in account {account} for more information.", 424) from None
    variant = (record.get("ProductionVariants") or [{}])[0].get("VariantName", "AllTraffic")
    return 200, payload, ctype, [("x-Amzn-Invoked-Production-Variant", variant)]


OPERATIONS = {
    "CreateModel": create_model,
    "DescribeModel": lambda app, p: describe(app, "Model", p["ModelName"]),
    "ListModels": lambda app, p: list_kind(app, "Model", p),
    "DeleteModel": delete_model,
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": lambda app, p: describe(app, "EndpointConfig",
                                                      p["EndpointConfigName"]),
    "ListEndpointConfigs": lambda app, p: list_kind(app, "EndpointConfig", p),
    "DeleteEndpointConfig": delete_endpoint_config,
    "CreateEndpoint": create_endpoint,
    "DescribeEndpoint": lambda app, p: describe(app, "Endpoint", p["EndpointName"]),
    "ListEndpoints": lambda app, p: list_kind(app, "Endpoint", p),
    "UpdateEndpoint": update_endpoint,
    "DeleteEndpoint": delete_endpoint,
}

__all__ = ["OPERATIONS", "invoke", "missing", "KINDS"]
