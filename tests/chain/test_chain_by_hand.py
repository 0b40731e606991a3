"""The lab's chain created by hand as ACK custom resources, against the running sandbox.

processing → tuning → training → model → endpoint config → endpoint, and transform, through the
kubernetes client only; then the endpoint is invoked through boto3 and its answer checked against
the nearest centroid of the model the training job wrote.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import tarfile
import time

import numpy as np
import pytest

from assets.pipeline import glue
from wizard.kmeans_images import kmeans_image_uri

pytestmark = pytest.mark.slow
GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A running sandbox with the lab's data and script uploaded, as after steps 1–2."""
    from wizard.sandbox import manager
    from wizard.sandbox.mnist import build_mnist_pkl_gz

    state = tmp_path_factory.mktemp("chain")
    info = manager.up(state).to_dict()
    import boto3

    def aws(service):
        return boto3.client(service, endpoint_url=info["services"]["aws"]["url"],
                            region_name=info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    data = build_mnist_pkl_gz(state / "mnist.pkl.gz")
    s3 = aws("s3")
    s3.upload_file(str(data), info["bucket"], "lab1/source_data/mnist.pkl.gz")
    s3.upload_file("assets/scripts/preprocess.py", info["bucket"],
                   "lab1/processing_code/kmeans_preprocessing.py")
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=info["kubeconfig"], client_configuration=configuration)
    yield {"info": info, "aws": aws, "data": data,
           "custom": client.CustomObjectsApi(client.ApiClient(configuration))}
    manager.down(state)


def _create_and_wait(custom, namespace, plural, kind, spec, field, done, timeout=240):
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
            "metadata": {"name": next(v for k, v in spec.items() if k.endswith("Name")),
                         "namespace": namespace}, "spec": spec}
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural,
                                                  body["metadata"]["name"])
        status = obj.get("status", {})
        for condition in status.get("conditions", []):
            assert not (condition["type"] == "ACK.Terminal" and condition["status"] == "True"), \
                condition.get("message")
        assert status.get(field) not in ("Failed", "Stopped"), status.get("failureReason")
        if status.get(field) == done:
            return status
        time.sleep(0.5)
    raise AssertionError(f"{kind} did not reach {done}: {obj.get('status')}")


def _create_and_wait_synced(custom, namespace, plural, kind, spec, timeout=240):
    """Create a resource that has no status field and wait for ACK.ResourceSynced=True."""
    name = next(v for k, v in spec.items() if k.endswith("Name"))
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
        "metadata": {"name": name, "namespace": namespace}, "spec": spec})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        conditions = {c["type"]: c for c in (obj.get("status") or {}).get("conditions", [])}
        terminal = conditions.get("ACK.Terminal", {})
        assert terminal.get("status") != "True", terminal.get("message")
        if conditions.get("ACK.ResourceSynced", {}).get("status") == "True":
            return obj["status"]
        time.sleep(0.3)
    raise AssertionError(f"{kind} {name} never reported ACK.ResourceSynced=True")


def test_chain_of_custom_resources_serves_the_nearest_centroid(sandbox):
    info, custom = sandbox["info"], sandbox["custom"]
    ns = info["profile_namespace"]
    p = glue.plan.python_func(
        run_id="chainbyhand01", bucket=info["bucket"], prefix="lab1",
        role_arn=info["execution_role_arn"],
        processing_image=f"141502667606.dkr.ecr.{info['region']}.amazonaws.com/"
                         "sagemaker-scikit-learn:1.2-1-cpu-py3",
        kmeans_image=kmeans_image_uri(info["region"]), data_uri="", script_uri="",
        processing_instance_type="ml.m5.xlarge", training_instance_type="ml.m5.xlarge",
        endpoint_instance_type="ml.m5.large", transform_instance_type="ml.m5.large",
        max_jobs=2, max_parallel_jobs=2)
    role = info["execution_role_arn"]
    _create_and_wait(custom, ns, "processingjobs", "ProcessingJob", {
        "processingJobName": p.proc_name, "roleARN": role, "appSpecification": p.proc_app,
        "processingInputs": p.proc_inputs, "processingOutputConfig": p.proc_outputs,
        "processingResources": p.proc_resources, "stoppingCondition": p.stopping},
        "processingJobStatus", "Completed")
    tuning = _create_and_wait(custom, ns, "hyperparametertuningjobs", "HyperParameterTuningJob", {
        "hyperParameterTuningJobName": p.hpo_name, "hyperParameterTuningJobConfig": p.hpo_config,
        "trainingJobDefinition": p.hpo_definition},
        "hyperParameterTuningJobStatus", "Completed")
    best = glue.best_hyperparameters.python_func(json.dumps(tuning["bestTrainingJob"]), p.static_hp)
    training = _create_and_wait(custom, ns, "trainingjobs", "TrainingJob", {
        "trainingJobName": p.train_name, "roleARN": role, "algorithmSpecification": p.algorithm,
        "hyperParameters": best, "inputDataConfig": p.channels, "outputDataConfig": p.train_output,
        "resourceConfig": p.train_resources, "stoppingCondition": p.stopping},
        "trainingJobStatus", "Completed")
    artifact = training["modelArtifacts"]["s3ModelArtifacts"]
    container = glue.model_container.python_func(json.dumps(training["modelArtifacts"]),
                                                 kmeans_image_uri(info["region"]))
    # a Model and an EndpointConfig have no status field of their own: like
    # `kubectl wait --for=condition=ACK.ResourceSynced`, wait for the condition before the next
    # resource, because SageMaker refuses a config whose model does not exist yet (ACK.Terminal)
    _create_and_wait_synced(custom, ns, "models", "Model", {
        "modelName": p.model_name, "executionRoleARN": role,
        "primaryContainer": container.container})
    _create_and_wait_synced(custom, ns, "endpointconfigs", "EndpointConfig", {
        "endpointConfigName": p.epc_name, "productionVariants": p.variants})
    sandbox["aws"]("sagemaker").describe_endpoint_config(EndpointConfigName=p.epc_name)
    _create_and_wait(custom, ns, "endpoints", "Endpoint", {
        "endpointName": p.ep_name, "endpointConfigName": p.epc_name}, "endpointStatus", "InService")
    _create_and_wait(custom, ns, "transformjobs", "TransformJob", {
        "transformJobName": p.bt_name, "modelName": p.model_name, "transformInput": p.bt_input,
        "transformOutput": p.bt_output, "transformResources": p.bt_resources,
        "maxConcurrentTransforms": 1, "maxPayloadInMB": 6}, "transformJobStatus", "Completed")

    # the model the training job wrote: its centroids
    bucket, key = artifact[5:].split("/", 1)
    blob = sandbox["aws"]("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        model = json.load(tar.extractfile("kmeans-model.json"))
    centroids = np.array(model["centroids"])
    assert centroids.shape == (10, 784)
    with gzip.open(sandbox["data"], "rb") as fh:
        _, _, (test_x, test_y) = pickle.load(fh, encoding="latin1")
    runtime = sandbox["aws"]("sagemaker-runtime")
    for digit in test_x[:5]:
        body = ",".join(f"{v:g}" for v in digit)
        answer = json.loads(runtime.invoke_endpoint(EndpointName=p.ep_name, ContentType="text/csv",
                                                    Body=body)["Body"].read())
        prediction = answer["predictions"][0]
        distances = np.linalg.norm(centroids - digit, axis=1)
        assert int(prediction["closest_cluster"]) == int(distances.argmin())
        assert prediction["distance_to_cluster"] == pytest.approx(distances.min(), rel=1e-3)

    # cluster purity on the test split (k=10): each cluster votes its majority label
    clusters = np.linalg.norm(test_x[:, None, :] - centroids[None, :, :], axis=2).argmin(axis=1)
    majority = sum(np.bincount(test_y[clusters == c]).max() for c in set(clusters))
    purity = majority / len(test_y)
    print(f"cluster purity on the test split (k=10): {purity:.3f}")
    assert purity > 0.5
