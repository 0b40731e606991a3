"""The lab's chain created by hand as ACK custom resources: shared by the chain test and
``bench/bench_chain.py``.

Only the kubernetes client creates things, as a learner typing ``kubectl apply`` would; every
resource is waited on through its own status before the next one needs it.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from assets.pipeline import glue
from wizard.kmeans_images import kmeans_image_uri

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"


def create_and_wait(custom: Any, namespace: str, plural: str, kind: str, spec: dict,
                    field: str, done: str, timeout: float = 240) -> dict:
    """Create a job-like resource and wait until ``status[field]`` is ``done``; fail fast on
    ACK.Terminal, Failed or Stopped."""
    name = next(v for k, v in spec.items() if k.endswith("Name"))
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
        "metadata": {"name": name, "namespace": namespace}, "spec": spec})
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        status = obj.get("status") or {}
        _fail_on_terminal(kind, status)
        if status.get(field) in ("Failed", "Stopped"):
            raise AssertionError(f"{kind} {name} is {status[field]}: {status.get('failureReason')}")
        if status.get(field) == done:
            return status
        time.sleep(0.3)
    raise AssertionError(f"{kind} {name} did not reach {done}: {status}")


def create_and_wait_synced(custom: Any, namespace: str, plural: str, kind: str, spec: dict,
                           timeout: float = 240) -> dict:
    """Create a resource with no status field of its own and wait for ACK.ResourceSynced=True
    (what ``kubectl wait --for=condition=ACK.ResourceSynced`` does)."""
    name = next(v for k, v in spec.items() if k.endswith("Name"))
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
        "metadata": {"name": name, "namespace": namespace}, "spec": spec})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        status = obj.get("status") or {}
        _fail_on_terminal(kind, status)
        if _condition(status, "ACK.ResourceSynced") == "True":
            return status
        time.sleep(0.3)
    raise AssertionError(f"{kind} {name} never reported ACK.ResourceSynced=True")


def _condition(status: dict, ctype: str) -> str | None:
    """The status ("True"/"False") of one condition, or None."""
    for condition in status.get("conditions") or []:
        if condition.get("type") == ctype:
            return condition.get("status")
    return None


def _fail_on_terminal(kind: str, status: dict) -> None:
    """Raise with ACK's message when the resource is ACK.Terminal."""
    for condition in status.get("conditions") or []:
        if condition.get("type") == "ACK.Terminal" and condition.get("status") == "True":
            raise AssertionError(f"{kind} is ACK.Terminal: {condition.get('message')}")


def run_chain(info: dict, custom: Any, run_id: str,
              on_stage: Callable[[str, float], None] = lambda stage, seconds: None) -> dict:
    """Create processing → tuning → training → model → endpoint config → endpoint → transform
    in the sandbox described by ``info`` (``labwiz sandbox`` facts); ``on_stage`` hears each
    stage's name and duration. Returns the plan, the training status and the endpoint name.
    The lab's data and script must already be in the bucket under ``lab1/``."""
    ns = info["profile_namespace"]
    role = info["execution_role_arn"]
    image = kmeans_image_uri(info["region"])
    p = glue.plan.python_func(
        run_id=run_id, bucket=info["bucket"], prefix="lab1", role_arn=role,
        processing_image=f"141502667606.dkr.ecr.{info['region']}.amazonaws.com/"
                         "sagemaker-scikit-learn:1.2-1-cpu-py3",
        kmeans_image=image, data_uri="", script_uri="",
        processing_instance_type="ml.m5.xlarge", training_instance_type="ml.m5.xlarge",
        endpoint_instance_type="ml.m5.large", transform_instance_type="ml.m5.large",
        max_jobs=2, max_parallel_jobs=2)

    def stage(name: str, action: Callable[[], dict]) -> dict:
        started = time.monotonic()
        out = action()
        on_stage(name, time.monotonic() - started)
        return out

    stage("processing", lambda: create_and_wait(custom, ns, "processingjobs", "ProcessingJob", {
        "processingJobName": p.proc_name, "roleARN": role, "appSpecification": p.proc_app,
        "processingInputs": p.proc_inputs, "processingOutputConfig": p.proc_outputs,
        "processingResources": p.proc_resources, "stoppingCondition": p.stopping},
        "processingJobStatus", "Completed"))
    tuning = stage("tuning", lambda: create_and_wait(
        custom, ns, "hyperparametertuningjobs", "HyperParameterTuningJob", {
            "hyperParameterTuningJobName": p.hpo_name,
            "hyperParameterTuningJobConfig": p.hpo_config,
            "trainingJobDefinition": p.hpo_definition},
        "hyperParameterTuningJobStatus", "Completed"))
    best = glue.best_hyperparameters.python_func(json.dumps(tuning["bestTrainingJob"]),
                                                 p.static_hp)
    training = stage("training", lambda: create_and_wait(custom, ns, "trainingjobs", "TrainingJob", {
        "trainingJobName": p.train_name, "roleARN": role, "algorithmSpecification": p.algorithm,
        "hyperParameters": best, "inputDataConfig": p.channels, "outputDataConfig": p.train_output,
        "resourceConfig": p.train_resources, "stoppingCondition": p.stopping},
        "trainingJobStatus", "Completed"))
    container = glue.model_container.python_func(json.dumps(training["modelArtifacts"]), image)
    # each hosting resource waits for the one before it, as the generated components do (an
    # endpoint config applied before its model would only be ACK.Recoverable until the model
    # exists: tests/ack/test_ack_semantics.py shows that case)
    stage("model", lambda: create_and_wait_synced(custom, ns, "models", "Model", {
        "modelName": p.model_name, "executionRoleARN": role,
        "primaryContainer": container.container}))
    stage("endpoint config", lambda: create_and_wait_synced(
        custom, ns, "endpointconfigs", "EndpointConfig", {
            "endpointConfigName": p.epc_name, "productionVariants": p.variants}))
    stage("endpoint", lambda: create_and_wait(custom, ns, "endpoints", "Endpoint", {
        "endpointName": p.ep_name, "endpointConfigName": p.epc_name},
        "endpointStatus", "InService"))
    stage("transform", lambda: create_and_wait(custom, ns, "transformjobs", "TransformJob", {
        "transformJobName": p.bt_name, "modelName": p.model_name, "transformInput": p.bt_input,
        "transformOutput": p.bt_output, "transformResources": p.bt_resources,
        "maxConcurrentTransforms": 1, "maxPayloadInMB": 6}, "transformJobStatus", "Completed"))
    return {"plan": p, "training": training, "endpoint_name": p.ep_name}


def trained_centroids(s3: Any, artifact: str) -> Any:
    """The centroids in the ``model.tar.gz`` a training job wrote at ``artifact`` (an s3:// URI)."""
    import io
    import tarfile

    import numpy as np

    bucket, key = artifact[len("s3://"):].split("/", 1)
    blob = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        model = json.load(tar.extractfile("kmeans-model.json"))
    return np.array(model["centroids"])


def cluster_purity(centroids: Any, data_path: Any) -> float:
    """Cluster purity on the test split of ``data_path`` (a lab-shaped mnist.pkl.gz): each digit
    goes to its nearest centroid, each cluster votes its majority label, and the share of digits
    whose label is their cluster's majority is the purity (chance is about 0.1 for ten digits)."""
    import gzip
    import pickle

    import numpy as np

    with gzip.open(data_path, "rb") as fh:
        _, _, (test_x, test_y) = pickle.load(fh, encoding="latin1")
    clusters = np.linalg.norm(test_x[:, None, :] - centroids[None, :, :], axis=2).argmin(axis=1)
    majority = sum(int(np.bincount(test_y[clusters == c]).max()) for c in set(clusters))
    return majority / len(test_y)
