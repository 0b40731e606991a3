"""The differential scenarios: each takes one :class:`~realack_harness.Side`, does the same
thing a learner (or the KFP components) would, and returns what that side ended with.

Specs use ACK's field names, as the lab's components write them.
"""

from __future__ import annotations

import time

from realack_harness import REGION, Observation, Side, condition

NO_SUCH_ROLE = "arn:aws:iam::123456789012:role/labwiz-no-such-role"
TRAIN_PREFIX = "realack/train/"
SCRIPT_KEY = "realack/code/sleep.py"
SEED_MODEL_KEY = "realack/seed-model/model.tar.gz"


def setup_data(duo) -> None:
    """Training CSV, a processing script that runs for a minute, and a model artifact."""
    s3, bucket = duo.s3, duo.account.bucket
    rows = "\n".join(f"{(i % 3) * 10 + (i % 7) * 0.1},{(i % 3) * -5 + (i % 5) * 0.1},"
                     f"{(i % 3) * 2.0},{i % 2}" for i in range(150))
    s3.put_object(Bucket=bucket, Key=TRAIN_PREFIX + "train.csv", Body=rows.encode())
    s3.put_object(Bucket=bucket, Key=SCRIPT_KEY, Body=b"import time\ntime.sleep(90)\n")
    # a model to host: one training job made straight through the API
    sm = duo.sm
    sm.create_training_job(**_training_request(duo, "realack-seed"))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = sm.describe_training_job(TrainingJobName="realack-seed")
        if job["TrainingJobStatus"] != "InProgress":
            break
        time.sleep(0.5)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    duo.seed_model = job["ModelArtifacts"]["S3ModelArtifacts"]


def _training_request(duo, name: str) -> dict:
    """A boto3 CreateTrainingJob request for the tiny CSV."""
    from wizard.kmeans_images import kmeans_image_uri

    bucket = duo.account.bucket
    return {
        "TrainingJobName": name, "RoleArn": duo.account.execution_role_arn,
        "HyperParameters": {"k": "3", "feature_dim": "4", "mini_batch_size": "50"},
        "AlgorithmSpecification": {"TrainingImage": kmeans_image_uri(REGION),
                                   "TrainingInputMode": "File"},
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{TRAIN_PREFIX}",
                             "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/realack/output/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                           "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


# -- specs -------------------------------------------------------------------------------------
def training_spec(side: Side, name: str, instance_type: str = "ml.m5.large",
                  role: str | None = None) -> dict:
    """A TrainingJob spec (ACK's names) for the tiny CSV."""
    from wizard.kmeans_images import kmeans_image_uri

    bucket = side.duo.account.bucket
    return {
        "trainingJobName": name, "roleARN": role or side.duo.account.execution_role_arn,
        "hyperParameters": {"k": "3", "feature_dim": "4", "mini_batch_size": "50"},
        "algorithmSpecification": {"trainingImage": kmeans_image_uri(REGION),
                                   "trainingInputMode": "File"},
        "inputDataConfig": [{"channelName": "train", "contentType": "text/csv", "dataSource": {
            "s3DataSource": {"s3DataType": "S3Prefix", "s3URI": f"s3://{bucket}/{TRAIN_PREFIX}",
                             "s3DataDistributionType": "FullyReplicated"}}}],
        "outputDataConfig": {"s3OutputPath": f"s3://{bucket}/realack/output/"},
        "resourceConfig": {"instanceCount": 1, "instanceType": instance_type,
                           "volumeSizeInGB": 5},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
    }


def model_spec(side: Side, name: str, data_url: str, role: str | None = None) -> dict:
    """A Model spec serving a k-means artifact."""
    from wizard.kmeans_images import kmeans_image_uri

    return {"modelName": name, "executionRoleARN": role or side.duo.account.execution_role_arn,
            "primaryContainer": {"image": kmeans_image_uri(REGION), "modelDataURL": data_url}}


def config_spec(name: str, model: str) -> dict:
    """An EndpointConfig spec with one variant."""
    return {"endpointConfigName": name, "productionVariants": [{
        "variantName": "AllTraffic", "modelName": model, "initialInstanceCount": 1,
        "instanceType": "ml.m5.large", "initialVariantWeight": 1.0}]}


def processing_spec(side: Side, name: str) -> dict:
    """A ProcessingJob whose script runs for 90 s."""
    bucket = side.duo.account.bucket
    return {
        "processingJobName": name, "roleARN": side.duo.account.execution_role_arn,
        "appSpecification": {"imageURI": "python:3.11",
                             "containerEntrypoint": ["python3",
                                                     "/opt/ml/processing/code/sleep.py"]},
        "processingInputs": [{"inputName": "code", "s3Input": {
            "s3URI": f"s3://{bucket}/{SCRIPT_KEY}", "localPath": "/opt/ml/processing/code",
            "s3DataType": "S3Prefix", "s3InputMode": "File"}}],
        "processingResources": {"clusterConfig": {"instanceCount": 1,
                                                  "instanceType": "ml.m5.xlarge",
                                                  "volumeSizeInGB": 20}},
        "stoppingCondition": {"maxRuntimeInSeconds": 1800},
    }


# -- helpers -----------------------------------------------------------------------------------
def errored(side: Side, kind: str, name: str, timeout: float = 120.0) -> dict:
    """Until ACK.Terminal or ACK.Recoverable is True (whichever the controller chose)."""
    def probe():
        obj = side.get(kind, name)
        if condition(obj, "ACK.Terminal") == "True" or condition(obj, "ACK.Recoverable") == "True":
            return obj
        return None
    return side.wait(f"{kind} {name} to report an error condition", probe, timeout)


def sagemaker_state(side: Side, kind: str, name: str) -> str:
    """What SageMaker itself says of a resource (a different observer than the controller)."""
    sm = side.duo.sm
    describe = {"TrainingJob": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
                "ProcessingJob": ("describe_processing_job", "ProcessingJobName",
                                  "ProcessingJobStatus"),
                "Model": ("describe_model", "ModelName", None),
                "EndpointConfig": ("describe_endpoint_config", "EndpointConfigName", None),
                "Endpoint": ("describe_endpoint", "EndpointName", "EndpointStatus"),
                "TransformJob": ("describe_transform_job", "TransformJobName",
                                 "TransformJobStatus"),
                "HyperParameterTuningJob": ("describe_hyper_parameter_tuning_job",
                                            "HyperParameterTuningJobName",
                                            "HyperParameterTuningJobStatus")}[kind]
    try:
        out = getattr(sm, describe[0])(**{describe[1]: name})
    except sm.exceptions.ClientError as exc:
        return "absent" if "not found" in str(exc).lower() or "could not find" in str(
            exc).lower() else f"error {exc.response['Error']['Code']}"
    return out.get(describe[2], "exists") if describe[2] else "exists"


def delete_and_observe(side: Side, obs: Observation, items: list[tuple[str, str, str]],
                       timeout: float = 200.0) -> None:
    """Delete resources in order, each until gone, and record what SageMaker says after."""
    for kind, logical, name in items:
        side.delete(kind, name)
        side.wait_gone(kind, name, timeout)
        state = sagemaker_state(side, kind, name)
        if state == "Stopping":  # asked to stop; wait for SageMaker to finish stopping
            side.wait(f"{name} to stop", lambda: sagemaker_state(side, kind, name) != "Stopping",
                      60)
            state = sagemaker_state(side, kind, name)
        obs.resources.setdefault(logical, {})["after_delete"] = state


def finish(side: Side, scenario: str, obs: Observation,
           fold_waits: bool = False) -> Observation:
    """Attach the SageMaker calls of this side's scenario; with ``fold_waits``, see
    :func:`fold_dependency_waits`."""
    obs.calls = side.duo.calls(side, scenario)
    obs.reads = side.duo.calls(side, scenario, reads=True)
    if fold_waits:
        obs.calls = {k: fold_dependency_waits(v) for k, v in obs.calls.items()}
    return obs


def fold_dependency_waits(ops: list[str]) -> list[str]:
    """Drop a refused create that the same create later succeeded: when resources are applied
    together, a controller may reach one before what it refers to exists in SageMaker (the
    endpoint before its config, the config before its model), and whether it does is timing,
    on either side. A create that never succeeded is kept, refusal and all."""
    out: list[str] = []
    for op in ops:
        if out and out[-1] == op + "!" and op.startswith("Create"):
            out[-1] = op
        elif not out or out[-1] != op:
            out.append(op)
    return out


# -- the scenarios -----------------------------------------------------------------------------
def chain(side: Side) -> Observation:
    """The lab's chain by hand: training, model, endpoint config, endpoint; then cleanup."""
    sc, obs = "chain", Observation()
    n = {x: side.sm_name(sc, x) for x in ("train", "model", "config", "endpoint")}
    side.create("TrainingJob", sc, "train", training_spec(side, n["train"]))
    job = side.wait_settled("TrainingJob", n["train"], status_in=("Completed", "Failed"))
    obs.resources["train"] = side.facts("TrainingJob", n["train"], job)
    artifacts = job["status"]["modelArtifacts"]["s3ModelArtifacts"]
    side.create("Model", sc, "model", model_spec(side, n["model"], artifacts))
    obs.resources["model"] = side.facts("Model", n["model"],
                                        side.wait_settled("Model", n["model"]))
    side.create("EndpointConfig", sc, "config", config_spec(n["config"], n["model"]))
    obs.resources["config"] = side.facts("EndpointConfig", n["config"],
                                         side.wait_settled("EndpointConfig", n["config"]))
    side.create("Endpoint", sc, "endpoint", {"endpointName": n["endpoint"],
                                             "endpointConfigName": n["config"]})
    obs.resources["endpoint"] = side.facts("Endpoint", n["endpoint"], side.wait_settled(
        "Endpoint", n["endpoint"], status_in=("InService", "Failed")))
    delete_and_observe(side, obs, [("Endpoint", "endpoint", n["endpoint"]),
                                   ("EndpointConfig", "config", n["config"]),
                                   ("Model", "model", n["model"]),
                                   ("TrainingJob", "train", n["train"])])
    return finish(side, sc, obs)


def hosting_at_once(side: Side) -> Observation:
    """Model, EndpointConfig and Endpoint applied together (as `kubectl apply -f dir/`)."""
    sc, obs = "atonce", Observation()
    n = {x: side.sm_name(sc, x) for x in ("model", "config", "endpoint")}
    side.create("Endpoint", sc, "endpoint", {"endpointName": n["endpoint"],
                                             "endpointConfigName": n["config"]})
    side.create("EndpointConfig", sc, "config", config_spec(n["config"], n["model"]))
    side.create("Model", sc, "model", model_spec(side, n["model"], side.duo.seed_model))
    obs.resources["endpoint"] = side.facts("Endpoint", n["endpoint"], side.wait_settled(
        "Endpoint", n["endpoint"], status_in=("InService", "Failed"), timeout=300))
    # each settles (or fails) on its own time: look once the controller has dealt with it
    obs.resources["config"] = side.facts("EndpointConfig", n["config"], side.wait_settled(
        "EndpointConfig", n["config"]))
    obs.resources["model"] = side.facts("Model", n["model"], side.wait_settled("Model",
                                                                               n["model"]))
    delete_and_observe(side, obs, [("Endpoint", "endpoint", n["endpoint"]),
                                   ("EndpointConfig", "config", n["config"]),
                                   ("Model", "model", n["model"])])
    return finish(side, sc, obs, fold_waits=True)


def validation_error(side: Side) -> Observation:
    """A TrainingJob SageMaker refuses: an instance type that does not exist."""
    sc, obs = "invalid", Observation()
    name = side.sm_name(sc, "train")
    side.create("TrainingJob", sc, "train", training_spec(side, name, "ml.bogus.large"))
    obs.resources["train"] = side.facts("TrainingJob", name, errored(side, "TrainingJob", name))
    delete_and_observe(side, obs, [("TrainingJob", "train", name)])
    return finish(side, sc, obs)


def bad_role(side: Side) -> Observation:
    """A Model whose execution role SageMaker cannot assume (it does not exist)."""
    sc, obs = "badrole", Observation()
    name = side.sm_name(sc, "model")
    side.create("Model", sc, "model", model_spec(side, name, side.duo.seed_model, NO_SUCH_ROLE))
    obs.resources["model"] = side.facts("Model", name, errored(side, "Model", name))
    delete_and_observe(side, obs, [("Model", "model", name)])
    return finish(side, sc, obs)


def delete_in_progress(side: Side) -> Observation:
    """A ProcessingJob deleted while its script still runs."""
    sc, obs = "delrun", Observation()
    name = side.sm_name(sc, "proc")
    side.create("ProcessingJob", sc, "proc", processing_spec(side, name))
    running = side.wait("the job to be InProgress with an ARN", lambda: (
        lambda o: o if ((o or {}).get("status") or {}).get("processingJobStatus") == "InProgress"
        and ((o.get("status") or {}).get("ackResourceMetadata") or {}).get("arn") else None)(
        side.get("ProcessingJob", name)), 120)
    obs.resources["proc"] = side.facts("ProcessingJob", name, running)
    delete_and_observe(side, obs, [("ProcessingJob", "proc", name)])
    return finish(side, sc, obs)


def endpoint_update(side: Side) -> Observation:
    """An Endpoint moved to a second EndpointConfig once InService."""
    sc, obs = "update", Observation()
    n = {x: side.sm_name(sc, x) for x in ("model", "config1", "config2", "endpoint")}
    side.create("Model", sc, "model", model_spec(side, n["model"], side.duo.seed_model))
    side.wait_settled("Model", n["model"])
    for c in ("config1", "config2"):
        side.create("EndpointConfig", sc, c, config_spec(n[c], n["model"]))
        side.wait_settled("EndpointConfig", n[c])
    side.create("Endpoint", sc, "endpoint", {"endpointName": n["endpoint"],
                                             "endpointConfigName": n["config1"]})
    side.wait_settled("Endpoint", n["endpoint"], status_in=("InService", "Failed"))
    side.patch("Endpoint", n["endpoint"], {"spec": {"endpointConfigName": n["config2"]}})
    side.wait("SageMaker to serve config2", lambda: side.duo.sm.describe_endpoint(
        EndpointName=n["endpoint"]).get("EndpointConfigName") == n["config2"], 200)
    obs.resources["endpoint"] = side.facts("Endpoint", n["endpoint"], side.wait_settled(
        "Endpoint", n["endpoint"], status_in=("InService", "Failed")))
    delete_and_observe(side, obs, [("Endpoint", "endpoint", n["endpoint"]),
                                   ("EndpointConfig", "config1", n["config1"]),
                                   ("EndpointConfig", "config2", n["config2"]),
                                   ("Model", "model", n["model"])])
    return finish(side, sc, obs)


def spec_change_completed(side: Side) -> Observation:
    """A completed TrainingJob whose hyperparameters are then changed."""
    sc, obs = "respec", Observation()
    name = side.sm_name(sc, "train")
    side.create("TrainingJob", sc, "train", training_spec(side, name))
    side.wait_settled("TrainingJob", name, status_in=("Completed", "Failed"))
    side.patch("TrainingJob", name, {"spec": {"hyperParameters": {"k": "4"}}})

    def reacted():
        obj = side.get("TrainingJob", name)
        conds = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
        changed = [c for c in conds.values() if c.get("status") == "True"
                   and c["type"] in ("ACK.Terminal", "ACK.Recoverable")]
        return obj if changed else None
    try:
        obj = side.wait("a reaction to the spec change", reacted, 45)
    except AssertionError:
        obj = side.get("TrainingJob", name)  # no error condition: record what it shows
        obs.notes.append("no error condition within 45 s")
    obs.resources["train"] = side.facts("TrainingJob", name, obj)
    delete_and_observe(side, obs, [("TrainingJob", "train", name)])
    return finish(side, sc, obs)


def tuning(side: Side) -> Observation:
    """A HyperParameterTuningJob of two k-means jobs, to its best training job; then deleted."""
    from wizard.kmeans_images import kmeans_image_uri

    sc, obs = "tuning", Observation()
    name = side.sm_name(sc, "hpo")
    bucket = side.duo.account.bucket
    channel = lambda ch: {"channelName": ch, "contentType": "text/csv", "dataSource": {  # noqa
        "s3DataSource": {"s3DataType": "S3Prefix", "s3URI": f"s3://{bucket}/{TRAIN_PREFIX}",
                         "s3DataDistributionType": "FullyReplicated"}}}
    side.create("HyperParameterTuningJob", sc, "hpo", {
        "hyperParameterTuningJobName": name,
        "hyperParameterTuningJobConfig": {
            "strategy": "Random",
            "hyperParameterTuningJobObjective": {"type_": "Minimize", "metricName": "test:msd"},
            "resourceLimits": {"maxNumberOfTrainingJobs": 2, "maxParallelTrainingJobs": 2},
            "parameterRanges": {"integerParameterRanges": [
                {"name": "mini_batch_size", "minValue": "40", "maxValue": "60",
                 "scalingType": "Auto"}]},
            "trainingJobEarlyStoppingType": "Off"},
        "trainingJobDefinition": {
            "staticHyperParameters": {"k": "3", "feature_dim": "4"},
            "algorithmSpecification": {"trainingImage": kmeans_image_uri(REGION),
                                       "trainingInputMode": "File"},
            "roleARN": side.duo.account.execution_role_arn,
            "inputDataConfig": [channel("train"), channel("test")],
            "outputDataConfig": {"s3OutputPath": f"s3://{bucket}/realack/hpo/"},
            "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large",
                               "volumeSizeInGB": 5},
            "stoppingCondition": {"maxRuntimeInSeconds": 3600}}})
    job = side.wait_settled("HyperParameterTuningJob", name, status_in=("Completed", "Failed"),
                            timeout=300)
    obs.resources["hpo"] = side.facts("HyperParameterTuningJob", name, job)
    obs.resources["hpo"]["best_job"] = bool(
        ((job.get("status") or {}).get("bestTrainingJob") or {}).get("trainingJobName"))
    delete_and_observe(side, obs, [("HyperParameterTuningJob", "hpo", name)])
    return finish(side, sc, obs)


def transform(side: Side) -> Observation:
    """A batch TransformJob over the training CSV with the seed model; then deleted."""
    sc, obs = "transform", Observation()
    n = {x: side.sm_name(sc, x) for x in ("model", "job")}
    bucket = side.duo.account.bucket
    side.create("Model", sc, "model", model_spec(side, n["model"], side.duo.seed_model))
    side.wait_settled("Model", n["model"])
    side.create("TransformJob", sc, "job", {
        "transformJobName": n["job"], "modelName": n["model"],
        "transformInput": {"contentType": "text/csv", "splitType": "Line", "dataSource": {
            "s3DataSource": {"s3DataType": "S3Prefix",
                             "s3URI": f"s3://{bucket}/{TRAIN_PREFIX}"}}},
        "transformOutput": {"s3OutputPath": f"s3://{bucket}/realack/{side.prefix}-transform/",
                            "assembleWith": "Line"},
        "transformResources": {"instanceCount": 1, "instanceType": "ml.m5.large"}})
    obs.resources["job"] = side.facts("TransformJob", n["job"], side.wait_settled(
        "TransformJob", n["job"], status_in=("Completed", "Failed"), timeout=300))
    delete_and_observe(side, obs, [("TransformJob", "job", n["job"]),
                                   ("Model", "model", n["model"])])
    return finish(side, sc, obs)


def limit_training(side: Side) -> Observation:
    """CreateTrainingJob answered ResourceLimitExceeded (fault training=...)."""
    sc, obs = "limittrain", Observation()
    name = side.sm_name(sc, "train")
    side.create("TrainingJob", sc, "train", training_spec(side, name))
    obs.resources["train"] = side.facts("TrainingJob", name, errored(side, "TrainingJob", name))
    return finish(side, sc, obs)


def limit_endpoint(side: Side) -> Observation:
    """CreateEndpoint answered ResourceLimitExceeded (fault endpoint=...)."""
    sc, obs = "limitep", Observation()
    n = {x: side.sm_name(sc, x) for x in ("model", "config", "endpoint")}
    side.create("Model", sc, "model", model_spec(side, n["model"], side.duo.seed_model))
    side.wait_settled("Model", n["model"])
    side.create("EndpointConfig", sc, "config", config_spec(n["config"], n["model"]))
    side.wait_settled("EndpointConfig", n["config"])
    side.create("Endpoint", sc, "endpoint", {"endpointName": n["endpoint"],
                                             "endpointConfigName": n["config"]})
    obs.resources["endpoint"] = side.facts("Endpoint", n["endpoint"],
                                           errored(side, "Endpoint", n["endpoint"]))
    return finish(side, sc, obs)


def access_denied(side: Side) -> Observation:
    """Every SageMaker write denied to the controller (fault sagemaker=AccessDenied)."""
    sc, obs = "denied", Observation()
    name = side.sm_name(sc, "model")
    side.create("Model", sc, "model", model_spec(side, name, side.duo.seed_model))
    obs.resources["model"] = side.facts("Model", name, errored(side, "Model", name))
    return finish(side, sc, obs)
