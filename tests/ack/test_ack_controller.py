"""The controller end to end: the sandbox's AWS endpoint (moto + the SageMaker app), the
sandbox's Kubernetes API server with the derived CRDs installed, and real clients throughout."""

from __future__ import annotations

import copy
import socket
from typing import Any

import pytest

from ack_lab import (GROUP, NS, REGION, VERSION, _condition, _create, _get, _kmeans_job,  # noqa: F401
                     _model_of, _plural, _set_faults, _synced, _wait, lab)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def trained(lab: Any) -> tuple[dict, list]:
    """The TrainingJob resource ``ack-train-ok`` once finished, and the conditions seen on the
    way (while SageMaker reported it InProgress)."""
    _create(lab, _kmeans_job(lab, "ack-train-ok"))
    seen_in_progress = []

    def finished() -> dict | None:
        """The resource once the job ended; notes conditions seen while it ran."""
        obj = _get(lab, "trainingjobs", "ack-train-ok")
        status = (obj or {}).get("status") or {}
        if status.get("trainingJobStatus") == "InProgress":
            seen_in_progress.append(_condition(obj, "ACK.ResourceSynced"))
        done = status.get("trainingJobStatus") in ("Completed", "Failed", "Stopped")
        return obj if done else None

    return _wait("the training job to finish", finished, timeout=150), seen_in_progress


def test_training_job_completes_with_artifacts(lab: Any, trained: tuple[dict, list]) -> None:
    """A TrainingJob resource trains for real: Completed, model in S3, ResourceSynced True."""
    obj, seen_in_progress = trained
    status = obj["status"]
    assert status["trainingJobStatus"] == "Completed", status.get("failureReason")
    assert status["secondaryStatus"] == "Completed"
    artifacts = status["modelArtifacts"]["s3ModelArtifacts"]
    assert artifacts.startswith(f"s3://{lab.account.bucket}/ack-test/output/ack-train-ok/")
    bucket, key = artifacts[len("s3://"):].split("/", 1)
    assert lab.s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    meta = status["ackResourceMetadata"]
    assert meta["arn"] == lab.sm.describe_training_job(TrainingJobName="ack-train-ok")[
        "TrainingJobArn"]
    assert (meta["ownerAccountID"], meta["region"]) == (lab.account.account_id, REGION)
    synced = _condition(obj, "ACK.ResourceSynced")
    assert synced["status"] == "True", synced
    assert _condition(obj, "ACK.Terminal") is None
    assert "finalizers.sagemaker.services.k8s.aws/TrainingJob" in obj["metadata"]["finalizers"]
    # while it ran, ACK.ResourceSynced was False with ACK's "is in InProgress status" message
    assert any(c and c["status"] == "False" and "InProgress" in c.get("message", "")
               for c in seen_in_progress), seen_in_progress
    # the request reached SageMaker with the exact member names and ACK's default tags
    tags = lab.sm.list_tags(ResourceArn=meta["arn"])["Tags"]
    assert {"Key": "lab", "Value": "kfp-sagemaker"} in tags
    assert {"Key": "services.k8s.aws/namespace", "Value": NS} in tags


def test_invalid_role_is_recoverable(lab: Any) -> None:
    """A role SageMaker cannot assume is a ValidationException, which TrainingJob's terminal codes
    (generator.yaml v1.9.1) do not list: ACK.Recoverable with the Go SDK's wording, retried."""
    role = f"arn:aws:iam::{lab.account.account_id}:role/NoSuchRole"
    _create(lab, _kmeans_job(lab, "ack-train-badrole", role=role))
    obj = _wait("ACK.Recoverable", lambda: (lambda o: o if _condition(o, "ACK.Recoverable")
                                            else None)(_get(lab, "trainingjobs",
                                                            "ack-train-badrole")))
    recoverable = _condition(obj, "ACK.Recoverable")
    assert recoverable["status"] == "True"
    assert recoverable["message"].startswith("api error ValidationException: Could not assume role")
    assert _condition(obj, "ACK.Terminal") is None
    synced = _condition(obj, "ACK.ResourceSynced")
    assert synced["status"] == "Unknown" and synced["message"].startswith("Unable to determine")
    assert _condition(obj, "Ready")["status"] == "False"
    assert "arn" not in (obj["status"].get("ackResourceMetadata") or {})
    with pytest.raises(Exception, match="not found"):
        lab.sm.describe_training_job(TrainingJobName="ack-train-badrole")

    # fixing the spec: the next retry creates the job and the condition goes
    lab.api.patch_namespaced_custom_object(GROUP, VERSION, NS, "trainingjobs", "ack-train-badrole",
                                           {"spec": {"roleARN": lab.account.execution_role_arn}})
    fixed = _wait("the job to be created", lambda: (lambda o: o if (
        (o or {}).get("status", {}).get("ackResourceMetadata", {}).get("arn")) else None)(
        _get(lab, "trainingjobs", "ack-train-badrole")))
    assert _condition(fixed, "ACK.Recoverable") is None
    assert lab.sm.describe_training_job(TrainingJobName="ack-train-badrole")["RoleArn"] == (
        lab.account.execution_role_arn)
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, "trainingjobs", "ack-train-badrole")
    _wait("the resource to be removed",
          lambda: _get(lab, "trainingjobs", "ack-train-badrole") is None, timeout=120)


def test_delete_stops_the_job_then_releases_the_resource(lab: Any) -> None:
    """Deleting a running TrainingJob stops it in SageMaker, then the finalizer goes."""
    body = _kmeans_job(lab, "ack-train-stop")
    body["spec"]["stoppingCondition"]["maxRuntimeInSeconds"] = 3600
    _create(lab, body)
    _wait("the job to start", lambda: ((_get(lab, "trainingjobs", "ack-train-stop") or {})
                                      .get("status") or {}).get("trainingJobStatus"))
    lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, "trainingjobs", "ack-train-stop")
    _wait("the resource to be removed",
          lambda: _get(lab, "trainingjobs", "ack-train-stop") is None, timeout=120)
    described = lab.sm.describe_training_job(TrainingJobName="ack-train-stop")
    assert described["TrainingJobStatus"] == "Stopped", (
        "the job was not stopped (if Completed, it finished before the delete reached it)")


def test_api_server_rejects_a_spec_that_breaks_the_schema(lab: Any) -> None:
    """The derived schema is enforced by the API server: a string instance count is refused."""
    from kubernetes.client.exceptions import ApiException

    body = copy.deepcopy(_kmeans_job(lab, "ack-train-badtype"))
    body["spec"]["resourceConfig"]["instanceCount"] = "one"
    with pytest.raises(ApiException) as caught:
        _create(lab, body)
    assert caught.value.status == 422
    assert "instanceCount" in caught.value.body


def test_unreachable_sagemaker_is_recoverable(lab: Any) -> None:
    """With SageMaker unreachable the controller reports ACK.Recoverable and keeps retrying.

    This controller watches all namespaces (as the sandbox daemon runs it) but only Endpoints,
    which no other test has created yet; the fixture's controller watches only its namespace.
    """
    from kubernetes import client

    from ack_samples import endpoint
    from wizard.sandbox.ack import AckController

    core = client.CoreV1Api(lab.api.api_client)
    core.create_namespace({"metadata": {"name": "ack-recover"}})
    # bound, never listening, held for the whole test: refused, and no parallel worker takes it
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    controller = AckController(lab.kubeconfig, dead, REGION, lab.account.account_id,
                               namespace=None, poll_seconds=0.2, max_backoff=1.0,
                               kinds=("Endpoint",))
    controller.start()
    try:
        lab.api.create_namespaced_custom_object(GROUP, VERSION, "ack-recover", "endpoints",
                                                endpoint("ack-ep-recover"))

        def recoverable() -> dict | None:
            """The resource once ACK.Recoverable is True."""
            obj = lab.api.get_namespaced_custom_object(GROUP, VERSION, "ack-recover",
                                                       "endpoints", "ack-ep-recover")
            cond = _condition(obj, "ACK.Recoverable")
            return obj if cond and cond["status"] == "True" else None

        obj = _wait("ACK.Recoverable", recoverable)
        assert _condition(obj, "ACK.Terminal") is None
        assert _condition(obj, "ACK.ResourceSynced")["status"] == "Unknown"
        passes = controller.passes
        _wait("a retry", lambda: controller.passes > passes + 1, timeout=30)
    finally:
        controller.stop()
        sock.close()


def test_hosting_lifecycle_update_and_delete(lab: Any, trained: tuple[dict, list]) -> None:
    """Model, EndpointConfig and Endpoint reach their steady states; an endpoint follows a new
    config; deleting the resources deletes them in SageMaker."""
    from ack_samples import endpoint, endpoint_config, model
    from wizard.kmeans_images import kmeans_image_uri

    artifacts = trained[0]["status"]["modelArtifacts"]["s3ModelArtifacts"]
    body = model("ack-model")
    body["spec"]["executionRoleARN"] = lab.account.execution_role_arn
    body["spec"]["primaryContainer"].update(image=kmeans_image_uri(REGION),
                                            modelDataURL=artifacts)
    _create(lab, body)
    model_obj = _wait("the model to sync", lambda: _synced(lab, "Model", "ack-model"))
    assert model_obj["status"]["ackResourceMetadata"]["arn"].endswith(":model/ack-model")
    for config in ("ack-config-a", "ack-config-b"):
        _create(lab, endpoint_config(config, model_name="ack-model"))
        _wait(f"{config} to sync", lambda c=config: _synced(lab, "EndpointConfig", c))
    _create(lab, endpoint("ack-endpoint", config_name="ack-config-a"))
    ep = _wait("the endpoint to be InService",
               lambda: _synced(lab, "Endpoint", "ack-endpoint"), timeout=120)
    assert ep["status"]["endpointStatus"] == "InService"
    assert ep["status"]["productionVariants"][0]["variantName"] == "AllTraffic"

    # a new endpoint config in spec: UpdateEndpoint, then InService on the new config
    lab.api.patch_namespaced_custom_object(GROUP, VERSION, NS, "endpoints", "ack-endpoint",
                                           {"spec": {"endpointConfigName": "ack-config-b"}})
    seen: list[tuple] = []  # (ResourceSynced, endpointStatus) of every look while it updates

    def moved() -> bool:
        """The endpoint runs on the new config and is synced (noting what each look saw)."""
        obj = _get(lab, "endpoints", "ack-endpoint") or {}
        synced = (_condition(obj, "ACK.ResourceSynced") or {}).get("status")
        seen.append((synced, (obj.get("status") or {}).get("endpointStatus")))
        return (lab.sm.describe_endpoint(EndpointName="ack-endpoint")["EndpointConfigName"]
                == "ack-config-b" and synced == "True")

    _wait("the endpoint to run on the new config", moved, timeout=120, every=0.02)
    # as v1.9.1 sets it once UpdateEndpoint succeeded: while not synced the status says
    # Updating, never the InService read before the call (a component waiting for InService
    # took that for the update's outcome)
    assert ("False", "InService") not in seen, seen

    for kind, name in (("Endpoint", "ack-endpoint"), ("EndpointConfig", "ack-config-a"),
                       ("EndpointConfig", "ack-config-b"), ("Model", "ack-model")):
        lab.api.delete_namespaced_custom_object(GROUP, VERSION, NS, _plural(kind), name)
        _wait(f"{kind} {name} to be removed", lambda k=kind, n=name: _get(lab, _plural(k), n)
              is None, timeout=60)
    for call, arg in ((lab.sm.describe_endpoint, {"EndpointName": "ack-endpoint"}),
                      (lab.sm.describe_endpoint_config, {"EndpointConfigName": "ack-config-a"}),
                      (lab.sm.describe_model, {"ModelName": "ack-model"})):
        with pytest.raises(Exception, match="Could not find"):
            call(**arg)


def test_transient_faults_are_ridden_out(lab: Any, trained: tuple[dict, list]) -> None:
    """With half of all AWS calls throttled, a Model still gets created and synced."""
    body = _model_of(lab, trained, "ack-model-throttled")
    _set_faults(lab, "throttle=0.5")
    try:
        _create(lab, body)
        obj = _wait("the model to sync", lambda: _synced(lab, "Model", "ack-model-throttled"))
    finally:
        _set_faults(lab)
    assert obj["status"]["ackResourceMetadata"]["arn"].endswith(":model/ack-model-throttled")
    assert _condition(obj, "ACK.Recoverable") is None  # cleared once a call succeeded


def test_access_denied_is_recoverable_and_heals(lab: Any, trained: tuple[dict, list]) -> None:
    """SageMaker refusing the controller (AccessDeniedException: its role lacks permissions) is
    ACK.Recoverable, not Terminal, with AWS's code and message; once the permission is there
    (the fault cleared) the next retry creates the model and the condition goes away."""
    body = _model_of(lab, trained, "ack-model-denied")
    _set_faults(lab, "sagemaker=AccessDenied")
    try:
        _create(lab, body)

        def recoverable() -> dict | None:
            """The resource once ACK.Recoverable is True."""
            obj = _get(lab, "models", "ack-model-denied")
            cond = _condition(obj, "ACK.Recoverable")
            return obj if cond and cond["status"] == "True" else None

        obj = _wait("ACK.Recoverable", recoverable)
    finally:
        _set_faults(lab)
    cond = _condition(obj, "ACK.Recoverable")
    assert cond["message"].startswith("api error AccessDeniedException: ")
    assert "sagemaker:CreateModel" in cond["message"]
    assert _condition(obj, "ACK.Terminal") is None
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "Unknown"
    healed = _wait("the model to sync once allowed",
                   lambda: _synced(lab, "Model", "ack-model-denied"))
    assert healed["status"]["ackResourceMetadata"]["arn"].endswith(":model/ack-model-denied")
    assert _condition(healed, "ACK.Recoverable") is None


def test_transform_job_completes(lab: Any, trained: tuple[dict, list]) -> None:
    """A TransformJob over a Model resource runs for real and reports Completed."""
    from ack_samples import model, transform_job
    from wizard.kmeans_images import kmeans_image_uri

    body = model("ack-model-tx")
    body["spec"]["executionRoleARN"] = lab.account.execution_role_arn
    body["spec"]["primaryContainer"].update(
        image=kmeans_image_uri(REGION),
        modelDataURL=trained[0]["status"]["modelArtifacts"]["s3ModelArtifacts"])
    _create(lab, body)
    _wait("the model to sync", lambda: _synced(lab, "Model", "ack-model-tx"))
    lab.s3.put_object(Bucket=lab.account.bucket, Key="ack-test/transform/in.csv",
                      Body=b"0.1,-5.0,2.0,1\n20.3,0.2,0.0,0\n")
    tx = transform_job("ack-transform", model_name="ack-model-tx")
    tx["spec"]["transformInput"]["dataSource"]["s3DataSource"]["s3URI"] = (
        f"s3://{lab.account.bucket}/ack-test/transform/")
    tx["spec"]["transformOutput"]["s3OutputPath"] = f"s3://{lab.account.bucket}/ack-test/tx-out/"
    _create(lab, tx)
    obj = _wait("the transform job to finish", lambda: (lambda o: o if (
        (o or {}).get("status", {}).get("transformJobStatus") in ("Completed", "Failed", "Stopped"))
        else None)(_get(lab, "transformjobs", "ack-transform")), timeout=120)
    assert obj["status"]["transformJobStatus"] == "Completed", obj["status"].get("failureReason")
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "True"
    out = lab.s3.get_object(Bucket=lab.account.bucket,
                            Key="ack-test/tx-out/in.csv.out")["Body"].read()
    assert out.count(b"closest_cluster") == 2


def test_tuning_job_reports_best_training_job(lab: Any) -> None:
    """A HyperParameterTuningJob runs its training jobs and reports the best one in status."""
    from ack_samples import tuning_job
    from wizard.kmeans_images import kmeans_image_uri

    body = tuning_job("ack-hpo")
    spec = body["spec"]
    config = spec["hyperParameterTuningJobConfig"]
    config["resourceLimits"] = {"maxNumberOfTrainingJobs": 2, "maxParallelTrainingJobs": 2}
    config["parameterRanges"] = {"integerParameterRanges": [
        {"name": "mini_batch_size", "minValue": "40", "maxValue": "60", "scalingType": "Auto"}]}
    definition = spec["trainingJobDefinition"]
    definition["staticHyperParameters"] = {"k": "3", "feature_dim": "4"}
    definition["algorithmSpecification"]["trainingImage"] = kmeans_image_uri(REGION)
    definition["roleARN"] = lab.account.execution_role_arn
    uri = f"s3://{lab.account.bucket}/ack-test/train/"
    for channel in definition["inputDataConfig"]:
        channel["dataSource"]["s3DataSource"]["s3URI"] = uri
    definition["outputDataConfig"]["s3OutputPath"] = f"s3://{lab.account.bucket}/ack-test/hpo/"
    _create(lab, body)
    obj = _wait("the tuning job to finish", lambda: (lambda o: o if (
        (o or {}).get("status", {}).get("hyperParameterTuningJobStatus")
        in ("Completed", "Failed", "Stopped")) else None)(
        _get(lab, "hyperparametertuningjobs", "ack-hpo")), timeout=180)
    status = obj["status"]
    assert status["hyperParameterTuningJobStatus"] == "Completed", status.get("failureReason")
    best = status["bestTrainingJob"]
    assert best["trainingJobName"].startswith("ack-hpo-")
    assert best["finalHyperParameterTuningJobObjectiveMetric"]["metricName"] == "test:msd"
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "True"


_SCRIPT = b"""import os, pathlib
root = pathlib.Path(os.environ.get("SM_PROCESSING_ROOT", "/opt/ml"))
rows = (root / "processing/input/data.csv").read_text().split()
out = root / "processing/output"
out.mkdir(parents=True, exist_ok=True)
(out / "count.txt").write_text(str(len(rows)))
"""


def test_processing_job_completes(lab: Any) -> None:
    """A ProcessingJob runs its script on the inputs and uploads the outputs."""
    from ack_samples import processing_job

    bucket = lab.account.bucket
    lab.s3.put_object(Bucket=bucket, Key="ack-test/proc/code/count.py", Body=_SCRIPT)
    lab.s3.put_object(Bucket=bucket, Key="ack-test/proc/in/data.csv", Body=b"1,2\n3,4\n5,6\n")
    body = processing_job("ack-processing")
    spec = body["spec"]
    spec["roleARN"] = lab.account.execution_role_arn
    spec["appSpecification"] = {
        "imageURI": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:"
                    "1.2-1-cpu-py3",
        "containerEntrypoint": ["python3", "/opt/ml/processing/code/count.py"]}
    spec["processingInputs"] = [
        {"inputName": name, "s3Input": {"s3URI": f"s3://{bucket}/ack-test/proc/{src}",
                                        "localPath": f"/opt/ml/processing/{dst}",
                                        "s3DataType": "S3Prefix", "s3InputMode": "File"}}
        for name, src, dst in (("code", "code/", "code"), ("data", "in/", "input"))]
    spec["processingOutputConfig"] = {"outputs": [{"outputName": "out", "s3Output": {
        "s3URI": f"s3://{bucket}/ack-test/proc/out", "localPath": "/opt/ml/processing/output",
        "s3UploadMode": "EndOfJob"}}]}
    _create(lab, body)
    obj = _wait("the processing job to finish", lambda: (lambda o: o if (
        (o or {}).get("status", {}).get("processingJobStatus") in ("Completed", "Failed",
                                                                   "Stopped")) else None)(
        _get(lab, "processingjobs", "ack-processing")), timeout=120)
    assert obj["status"]["processingJobStatus"] == "Completed", obj["status"].get("failureReason")
    assert _condition(obj, "ACK.ResourceSynced")["status"] == "True"
    count = lab.s3.get_object(Bucket=bucket, Key="ack-test/proc/out/count.txt")["Body"].read()
    assert count == b"3"
