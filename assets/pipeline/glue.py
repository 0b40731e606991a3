"""Small lightweight components that sit between the SageMaker components of the lab pipeline.

They only reshape values (no AWS or Kubernetes calls) and install nothing beyond what KFP itself
needs, so each one is a short Python process. KFP ships only a component function's own source
to the container, so every function here is self-contained (imports inside, no helpers).
"""

# no "from __future__ import annotations": kfp reads the annotations as real types

from typing import NamedTuple

from kfp import dsl

BASE_IMAGE = "python:3.11-slim"


@dsl.component(base_image=BASE_IMAGE)
def plan(run_id: str, bucket: str, prefix: str, role_arn: str, processing_image: str,
         kmeans_image: str, data_uri: str, script_uri: str, processing_instance_type: str,
         training_instance_type: str, endpoint_instance_type: str,
         transform_instance_type: str, max_jobs: int, max_parallel_jobs: int,
         endpoint_name: str = "") -> NamedTuple(
        "Plan", [("proc_name", str), ("hpo_name", str), ("train_name", str), ("model_name", str),
                 ("epc_name", str), ("ep_name", str), ("bt_name", str),
                 ("proc_app", dict), ("proc_inputs", list), ("proc_outputs", dict),
                 ("proc_resources", dict), ("stopping", dict), ("hpo_config", dict),
                 ("hpo_definition", dict), ("algorithm", dict), ("channels", list),
                 ("train_output", dict), ("train_resources", dict), ("static_hp", dict),
                 ("variants", list), ("bt_input", dict), ("bt_output", dict),
                 ("bt_resources", dict)]):
    """Name this run's resources and write every SageMaker spec the pipeline needs.

    Names are ``mnist-<role>-<first 10 hex digits of the run id>`` (assets/pipeline/naming.py),
    except the endpoint's when ``endpoint_name`` is given: a run with the same endpoint name
    then updates that endpoint to its new endpoint config instead of making another endpoint.
    """
    from collections import namedtuple

    tag = "".join(ch for ch in str(run_id).lower() if ch.isalnum())[:10]
    if not tag:
        raise ValueError(f"cannot derive a resource tag from run id {run_id!r}")
    names = {role: f"mnist-{role}-{tag}"
             for role in ("proc", "hpo", "train", "model", "epc", "ep", "bt")}
    if endpoint_name.strip():
        names["ep"] = endpoint_name.strip()
    prefix = prefix.strip("/")
    # the data-upload step's locations, unless the run names others
    data_uri = data_uri or f"s3://{bucket}/{prefix}/source_data/mnist.pkl.gz"
    script_uri = script_uri or f"s3://{bucket}/{prefix}/processing_code/kmeans_preprocessing.py"
    base = f"s3://{bucket}/{prefix}/runs/{tag}"
    data = {part: f"{base}/processing/{part}" for part in ("train", "test", "valid")}
    code_dir = "/opt/ml/processing/code"
    script_name = script_uri.rstrip("/").rsplit("/", 1)[-1]

    def s3_input(name, uri, local):
        """One processing input read from S3."""
        return {"inputName": name, "s3Input": {
            "s3URI": uri, "localPath": local, "s3DataType": "S3Prefix", "s3InputMode": "File",
            "s3DataDistributionType": "FullyReplicated", "s3CompressionType": "None"}}

    def channel(name, uri):
        """One training channel of headerless CSV without labels."""
        return {"channelName": name, "contentType": "text/csv;label_size=0",
                "compressionType": "None", "recordWrapperType": "None", "inputMode": "File",
                "dataSource": {"s3DataSource": {"s3URI": uri, "s3DataType": "S3Prefix",
                                                "s3DataDistributionType": "FullyReplicated"}}}

    stopping = {"maxRuntimeInSeconds": 3600}
    algorithm = {"trainingImage": kmeans_image, "trainingInputMode": "File"}
    channels = [channel("train", data["train"]), channel("test", data["test"])]
    train_output = {"s3OutputPath": f"{base}/model"}
    train_resources = {"instanceCount": 1, "instanceType": training_instance_type,
                       "volumeSizeInGB": 10}
    static_hp = {"k": "10", "feature_dim": "784"}
    outputs = {
        **{f"{role}_name": name for role, name in names.items()},
        "proc_app": {"imageURI": processing_image,
                     "containerEntrypoint": ["python3", f"{code_dir}/{script_name}"]},
        "proc_inputs": [s3_input("mnist", data_uri, "/opt/ml/processing/input"),
                        s3_input("code", script_uri, code_dir)],
        "proc_outputs": {"outputs": [
            {"outputName": f"{part}_data", "s3Output": {
                "s3URI": uri, "localPath": f"/opt/ml/processing/output_{part}",
                "s3UploadMode": "EndOfJob"}} for part, uri in data.items()]},
        "proc_resources": {"clusterConfig": {"instanceCount": 1,
                                             "instanceType": processing_instance_type,
                                             "volumeSizeInGB": 20}},
        "stopping": stopping,
        "hpo_config": {
            "strategy": "Random",
            "hyperParameterTuningJobObjective": {"type_": "Minimize", "metricName": "test:msd"},
            "resourceLimits": {"maxNumberOfTrainingJobs": max_jobs,
                               "maxParallelTrainingJobs": max_parallel_jobs},
            "parameterRanges": {
                "integerParameterRanges": [
                    {"name": "mini_batch_size", "minValue": "450", "maxValue": "550",
                     "scalingType": "Auto"},
                    {"name": "extra_center_factor", "minValue": "10", "maxValue": "20",
                     "scalingType": "Auto"}],
                "categoricalParameterRanges": [
                    {"name": "init_method", "values": ["kmeans++", "random"]}]},
            "trainingJobEarlyStoppingType": "Off"},
        "hpo_definition": {"staticHyperParameters": static_hp, "algorithmSpecification": algorithm,
                           "roleARN": role_arn, "inputDataConfig": channels,
                           "outputDataConfig": {"s3OutputPath": f"{base}/tuning"},
                           "resourceConfig": train_resources, "stoppingCondition": stopping},
        "algorithm": algorithm, "channels": channels, "train_output": train_output,
        "train_resources": train_resources, "static_hp": static_hp,
        "variants": [{"variantName": "AllTraffic", "modelName": names["model"],
                      "initialInstanceCount": 1, "instanceType": endpoint_instance_type,
                      "initialVariantWeight": 1.0}],
        "bt_input": {"contentType": "text/csv", "splitType": "Line", "compressionType": "None",
                     "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix",
                                                     "s3URI": data["valid"]}}},
        "bt_output": {"s3OutputPath": f"{base}/batch-transform", "assembleWith": "Line",
                      "accept": "application/jsonlines"},
        "bt_resources": {"instanceCount": 1, "instanceType": transform_instance_type},
    }
    Plan = namedtuple("Plan", list(outputs))
    return Plan(**outputs)


@dsl.component(base_image=BASE_IMAGE)
def best_hyperparameters(best_training_job: str, static_hyperparameters: dict) -> dict:
    """The tuning job's winning hyperparameters (``bestTrainingJob.tunedHyperParameters``) plus
    the static ones, as the training job's ``hyperParameters``."""
    import json

    best = json.loads(best_training_job or "null") or {}
    tuned = best.get("tunedHyperParameters") or {}
    if not tuned:
        raise ValueError("the tuning job reported no bestTrainingJob.tunedHyperParameters "
                         f"(got {best_training_job!r}); did every training job fail?")
    merged = {key: str(value).strip('"') for key, value in tuned.items()}
    merged.update({key: str(value) for key, value in static_hyperparameters.items()})
    print("hyperparameters of the best training job "
          f"{best.get('trainingJobName', '?')}: {json.dumps(merged, sort_keys=True)}")
    return merged


@dsl.component(base_image=BASE_IMAGE)
def model_container(model_artifacts: str, image: str) -> NamedTuple(
        "Container", [("container", dict), ("model_data", str)]):
    """The Model's ``primaryContainer``: the k-means image and the training job's artifact."""
    import json
    from collections import namedtuple

    data = (json.loads(model_artifacts or "null") or {}).get("s3ModelArtifacts")
    if not data:
        raise ValueError(f"the training job reported no modelArtifacts.s3ModelArtifacts "
                         f"(got {model_artifacts!r})")
    print(f"model artifact: {data}")
    Container = namedtuple("Container", ["container", "model_data"])
    return Container({"image": image, "modelDataURL": data}, data)
