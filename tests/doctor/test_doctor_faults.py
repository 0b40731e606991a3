"""Injected faults: the sandbox answers as AWS does for a known failure, and the doctor names it.

The pipeline's work is reproduced through its real path: a custom resource is created in the
profile namespace and the sandbox's ACK controller calls SageMaker, which refuses it.
"""

from __future__ import annotations

import time

import pytest

from doctor_lab import IMAGE


def _training_job(lab, name: str) -> dict:
    """A TrainingJob custom resource as the lab's pipeline creates it."""
    bucket = f"s3://{lab.bucket}"
    return {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "TrainingJob",
            "metadata": {"name": name}, "spec": {
                "trainingJobName": name, "roleARN": lab.info.execution_role_arn,
                "hyperParameters": {"k": "10", "feature_dim": "784"},
                "algorithmSpecification": {"trainingImage": IMAGE, "trainingInputMode": "File"},
                "inputDataConfig": [{"channelName": "train", "dataSource": {"s3DataSource": {
                    "s3DataType": "S3Prefix", "s3URI": f"{bucket}/lab1/train_data/"}}}],
                "outputDataConfig": {"s3OutputPath": f"{bucket}/lab1/output/"},
                "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge",
                                   "volumeSizeInGB": 5},
                "stoppingCondition": {"maxRuntimeInSeconds": 3600}}}


def _model(lab, name: str, model_url: str) -> dict:
    """A Model custom resource."""
    return {"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Model",
            "metadata": {"name": name}, "spec": {
                "modelName": name, "executionRoleARN": lab.info.execution_role_arn,
                "primaryContainer": {"image": IMAGE, "modelDataURL": model_url}}}


def _wait_gone(lab, kind: str, name: str, timeout: float = 120) -> None:
    """Wait until the controller has let a deleted custom resource go."""
    from kubernetes.client.exceptions import ApiException

    api = lab.clients.custom_objects()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            api.get_namespaced_custom_object("sagemaker.services.k8s.aws", "v1alpha1",
                                             lab.namespace, kind.lower() + "s", name)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(0.2)
    raise AssertionError(f"{kind}/{name} was not removed within {timeout} s")


def _terminal_or_recoverable(lab, kind: str, name: str) -> dict:
    """Wait for ACK to report the refusal (terminal or recoverable, as ACK sorts the code)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return lab.wait_condition(kind, name, "ACK.Terminal", timeout=1)
        except AssertionError:
            try:
                return lab.wait_condition(kind, name, "ACK.Recoverable", timeout=1)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise


def test_training_resource_limit(lab):
    """ResourceLimitExceeded is in no lab kind's terminal codes (generator.yaml v1.9.1): ACK
    reports it ACK.Recoverable and retries. A quota does not rise by itself, so the doctor
    fails at once (no grace period) with the quota remediation, in both checks."""
    lab.set_faults("training=ResourceLimitExceeded")
    name = "doctor-limit-train"
    lab.create_cr(_training_job(lab, name))
    try:
        cond = lab.wait_condition("TrainingJob", name, "ACK.Recoverable")
        assert cond["message"].startswith("ResourceLimitExceeded: "), cond["message"]
        results = lab.doctor("resource-limits", "ack-conditions")
    finally:
        lab.set_faults()  # before the delete: the controller must be allowed to clean up
        lab.delete_cr("TrainingJob", name)
        _wait_gone(lab, "TrainingJob", name)  # or its old condition misleads later tests
    limit = results["resource-limits"]
    assert limit.status == "fail"
    assert f"TrainingJob/{name}" in limit.found and "ml.m5.xlarge" in limit.found
    assert "Service Quotas" in limit.remediation
    assert limit.doc_url.endswith("regions-quotas.html")
    stuck = results["ack-conditions"]
    assert stuck.status == "fail", stuck.found
    assert (f"TrainingJob/{name} is ACK.Recoverable (ACK retries, but every retry is refused "
            "until the quota is raised): ResourceLimitExceeded") in stuck.found
    assert "Service Quotas" in stuck.remediation
    assert stuck.doc_url.endswith("regions-quotas.html")


def test_terminal_spec_change(lab):
    """A Model whose spec is changed after SageMaker made it: ACK v1.9.1 has no Model update,
    so it is ACK.Terminal ("not implemented"), and the doctor says to fix the spec and
    re-create it, since ACK will not retry."""
    name = "doctor-terminal-spec"
    lab.create_cr(_model(lab, name, f"s3://{lab.bucket}/lab1/output/model.tar.gz"))
    try:
        lab.wait_condition("Model", name, "ACK.ResourceSynced")
        lab.clients.custom_objects().patch_namespaced_custom_object(
            "sagemaker.services.k8s.aws", "v1alpha1", lab.namespace, "models", name,
            {"spec": {"primaryContainer": {
                "modelDataURL": f"s3://{lab.bucket}/lab1/output/other.tar.gz"}}})
        lab.wait_condition("Model", name, "ACK.Terminal")
        result = lab.doctor("ack-conditions")["ack-conditions"]
    finally:
        lab.delete_cr("Model", name)
    assert result.status == "fail"
    assert f"Model/{name} is ACK.Terminal: not implemented" in result.found
    assert "fix the spec and re-create the resource" in result.remediation
    assert f"kubectl -n {lab.namespace} describe model {name}" in result.remediation


def test_recoverable_warns_then_fails_when_stuck(lab, monkeypatch):
    """SageMaker refuses the ACK controller (its role lacks SageMaker permissions): the resource
    is ACK.Recoverable and ACK retries. The doctor warns while that is recent, and fails once it
    has lasted longer than the grace period (lowered here instead of waiting five minutes), with
    a remediation about the controller's role, not about the spec."""
    from wizard.doctor.checks import ack

    lab.set_faults("sagemaker=AccessDenied")
    name = "doctor-recoverable-model"
    lab.create_cr(_model(lab, name, f"s3://{lab.bucket}/lab1/output/model.tar.gz"))
    try:
        cond = lab.wait_condition("Model", name, "ACK.Recoverable")
        assert "sagemaker:CreateModel" in cond["message"]
        fresh = lab.doctor("ack-conditions")["ack-conditions"]
        monkeypatch.setattr(ack, "RECOVERABLE_GRACE_S", 0.0)
        stuck = lab.doctor("ack-conditions")["ack-conditions"]
    finally:
        lab.set_faults()  # before the delete: the controller must be allowed to clean up
        lab.delete_cr("Model", name)
    assert fresh.status == "warn"
    assert f"Model/{name} is ACK.Recoverable (ACK is retrying)" in fresh.found
    assert "if it stays for more than a few minutes" in fresh.remediation
    assert stuck.status == "fail"
    assert f"Model/{name} is ACK.Recoverable for over 5 minutes" in stuck.found
    assert "AccessDeniedException" in stuck.found
    assert "ACK SageMaker controller" in stuck.remediation
    assert "AmazonSageMakerFullAccess" in stuck.remediation
    assert "re-create" not in stuck.remediation  # ACK retries by itself
    assert stuck.doc_url.endswith("/user-docs/irsa/")


def test_role_access_denied(lab):
    lab.set_faults("role=AccessDenied")
    name = "doctor-denied-model"
    lab.create_cr(_model(lab, name, f"s3://{lab.bucket}/lab1/output/model.tar.gz"))
    try:
        cond = _terminal_or_recoverable(lab, "Model", name)
        assert "assume" in cond["message"].lower()
        result = lab.doctor("execution-role")["execution-role"]
    finally:
        lab.delete_cr("Model", name)
    assert result.status == "fail"
    assert "SageMaker refused to assume" in result.found
    assert f"Model/{name}" in result.found
    assert "trust policy" in result.remediation


def test_s3_access_denied(lab):
    lab.set_faults("s3=AccessDenied")
    results = lab.doctor("s3-bucket", "s3-lab-data")
    assert results["s3-bucket"].status == "fail"
    assert "AccessDenied" in results["s3-bucket"].found
    assert "s3:ListBucket" in results["s3-bucket"].remediation
    assert results["s3-lab-data"].status == "fail"
    assert "Access denied" in results["s3-lab-data"].found


@pytest.fixture
def endpoint(lab):
    """An InService k-means endpoint made from a tiny model, recorded as the lab's run output."""
    import numpy as np

    from wizard.sandbox.compute.kmeans import model_tarball

    sm = lab.clients.aws("sagemaker")
    s3 = lab.clients.aws("s3")
    key = "lab1/doctor/model.tar.gz"
    s3.put_object(Bucket=lab.bucket, Key=key, Body=model_tarball(
        np.arange(8, dtype=np.float32).reshape(2, 4), {"k": "2", "feature_dim": "4"}))
    stamp = str(time.monotonic_ns())[-8:]
    name = f"doctor-ep-{stamp}"
    sm.create_model(ModelName=name, ExecutionRoleArn=lab.info.execution_role_arn,
                    PrimaryContainer={"Image": IMAGE,
                                      "ModelDataUrl": f"s3://{lab.bucket}/{key}"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    yield name
    for call, arg in ((sm.delete_endpoint, {"EndpointName": name}),
                      (sm.delete_endpoint_config, {"EndpointConfigName": name}),
                      (sm.delete_model, {"ModelName": name})):
        try:
            call(**arg)
        except Exception:  # noqa: BLE001 - a test may have failed before creating it
            pass


def _deploy(lab, name: str, want: str = "InService") -> dict:
    """Create the endpoint and wait until it leaves Creating; assert its status."""
    sm = lab.clients.aws("sagemaker")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        desc = sm.describe_endpoint(EndpointName=name)
        if desc["EndpointStatus"] not in ("Creating", "Updating"):
            break
        time.sleep(0.2)
    assert desc["EndpointStatus"] == want, desc
    return desc


def _ran_to_endpoint(lab, name: str, **extra) -> None:
    """Write a state whose run made the endpoint ``name``."""
    done = {"status": "done", "attempts": 1}
    steps = {"run-monitoring": dict(done, outputs={"endpoint_name": name, "run_state":
                                                    "SUCCEEDED"})}
    steps.update(extra)
    lab.write_state(steps=steps)


def test_endpoint_never_in_service(lab, endpoint):
    """As it happens in a lab: the endpoint fails, so the run fails and run-monitoring is left
    failed; the endpoint is known only from the custom resource monitoring recorded."""
    lab.set_faults("endpoint=FailedToReachInService")
    desc = _deploy(lab, endpoint, want="Failed")
    done = {"status": "done", "attempts": 1}
    lab.write_state(
        steps={"component-generation": done, "compile": done, "upload": done,
               "run-monitoring": {"status": "failed", "attempts": 1,
                                  "error": {"type": "StepFailed",
                                            "message": "the pipeline run FAILED"}}},
        ledger=[{"kind": "custom-resource", "name": endpoint, "step": "run-monitoring",
                 "namespace": lab.namespace, "arn": desc["EndpointArn"],
                 "details": {"kind": "Endpoint", "plural": "endpoints"}}])
    result = lab.doctor("endpoint-inservice")["endpoint-inservice"]
    assert result.status == "fail"
    assert f"Endpoint {endpoint} is Failed" in result.found
    assert desc["FailureReason"][:40] in result.found
    assert f"/aws/sagemaker/Endpoints/{endpoint}" in result.remediation


def test_invoke_denied_and_billing(lab, endpoint):
    _deploy(lab, endpoint)
    _ran_to_endpoint(lab, endpoint)
    results = lab.doctor("endpoint-inservice", "endpoint-invoke")
    assert results["endpoint-inservice"].status == "pass"
    assert results["endpoint-invoke"].status == "pass", results["endpoint-invoke"].found
    lab.set_faults("invoke=AccessDenied")
    result = lab.doctor("endpoint-invoke")["endpoint-invoke"]
    assert result.status == "fail"
    assert "InvokeEndpoint" in result.found and "denied" in result.found
    assert "sagemaker:InvokeEndpoint" in result.remediation
    lab.set_faults()
    # the lab is over (endpoint tested) and the endpoint still runs: that bills
    _ran_to_endpoint(lab, endpoint, **{"endpoint-test": {"status": "done", "attempts": 1,
                                                        "outputs": {"endpoint_name": endpoint}}})
    result = lab.doctor("billing-leftovers")["billing-leftovers"]
    assert result.status == "fail"
    assert f"endpoint {endpoint}" in result.found
    assert "labwiz run --only cleanup" in result.remediation
    # before the lab is over the same endpoint is expected, not a failure
    _ran_to_endpoint(lab, endpoint)
    assert lab.doctor("billing-leftovers")["billing-leftovers"].status == "skip"


def test_endpoint_resource_limit(lab, endpoint):
    lab.set_faults("endpoint=ResourceLimitExceeded")
    lab.create_cr({"apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Endpoint",
                   "metadata": {"name": endpoint},
                   "spec": {"endpointName": endpoint, "endpointConfigName": endpoint}})
    try:
        cond = _terminal_or_recoverable(lab, "Endpoint", endpoint)
        assert "ResourceLimitExceeded" in cond["message"]
        result = lab.doctor("resource-limits")["resource-limits"]
    finally:
        lab.delete_cr("Endpoint", endpoint)
    assert result.status == "fail"
    assert f"Endpoint/{endpoint}" in result.found and "ml.m5.large" in result.found
    assert "endpoint usage" in result.remediation
