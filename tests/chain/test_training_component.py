"""The generated TrainingJob component, run with kfp.local against the whole sandbox.

It creates the TrainingJob custom resource, the sandbox's ACK controller turns it into a SageMaker
training job that really trains k-means, and the component returns the model artifact's location;
with an injected failure the task fails with SageMaker's failureReason in its message. Given the
lab's lineage, the custom resource is labelled with it and the SageMaker training job tagged.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, run_labwiz
from wizard.kmeans_images import kmeans_image_uri

pytestmark = pytest.mark.slow
CRD = ROOT.parent / "shared" / "ack-crds" / "v1.9.1" / "sagemaker.services.k8s.aws_trainingjobs.yaml"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A sandbox with train/test CSVs in the lab bucket, and the generated TrainingJob component."""
    import boto3
    from kfp import local

    from wizard.generator import generate, load_crds_from_path
    from wizard.sandbox import manager
    from wizard.sandbox.mnist import build_arrays

    state = tmp_path_factory.mktemp("training-component")
    info = manager.up(state).to_dict()
    s3 = boto3.client("s3", endpoint_url=info["services"]["aws"]["url"], region_name=info["region"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    (train_x, _), _, (test_x, _) = build_arrays()
    for name, rows in (("train", train_x[:600]), ("test", test_x[:200])):
        body = "\n".join(",".join(f"{v:g}" for v in row) for row in rows)
        s3.put_object(Bucket=info["bucket"], Key=f"tc/{name}/{name}.csv", Body=body.encode())
    component = generate(load_crds_from_path(CRD)[0], state / "components").load()
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(state / "root"),
               raise_on_error=True)
    yield info, component, state
    run_labwiz(["--state-dir", str(state), "sandbox", "fail", "--clear"])
    manager.down(state)


def _train(info, component, name, **extra):
    """Run (or, with python_func, call) the component for a small k-means training job."""
    def channel(part):
        return {"channelName": part, "contentType": "text/csv;label_size=0", "inputMode": "File",
                "dataSource": {"s3DataSource": {"s3URI": f"s3://{info['bucket']}/tc/{part}/",
                                                "s3DataType": "S3Prefix",
                                                "s3DataDistributionType": "FullyReplicated"}}}
    return component(
        training_job_name=name, role_arn=info["execution_role_arn"],
        algorithm_specification={"trainingImage": kmeans_image_uri(info["region"]),
                                 "trainingInputMode": "File"},
        hyper_parameters={"k": "10", "feature_dim": "784", "mini_batch_size": "200"},
        input_data_config=[channel("train"), channel("test")],
        output_data_config={"s3OutputPath": f"s3://{info['bucket']}/tc/model"},
        resource_config={"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        stopping_condition={"maxRuntimeInSeconds": 600},
        namespace=info["profile_namespace"], poll_interval_seconds=1, timeout_seconds=300, **extra)


def _sagemaker(info):
    """A boto3 SageMaker client on the sandbox."""
    import boto3
    return boto3.client("sagemaker", endpoint_url=info["services"]["aws"]["url"],
                        region_name=info["region"], aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def test_training_component_trains_kmeans_and_outputs_the_artifact(lab, monkeypatch):
    info, component, _ = lab
    monkeypatch.setenv("KUBECONFIG", info["kubeconfig"])
    task = _train(info, component, "tc-kmeans-ok", lineage="0c5f9e2b-lab", run_id="tc-run-1")
    artifacts = json.loads(task.outputs["model_artifacts"])
    assert artifacts["s3ModelArtifacts"].endswith("tc-kmeans-ok/output/model.tar.gz")
    assert json.loads(task.outputs["training_job_status"]) == "Completed"
    assert json.loads(task.outputs["secondary_status"]) == "Completed"
    arn = task.outputs["ack_resource_arn"]
    assert arn.endswith(":training-job/tc-kmeans-ok")
    # lineage: the label cleanup selects on, and the tags the ACK controller passed to SageMaker
    from kubernetes import client, config
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=info["kubeconfig"]))
    found = api.list_namespaced_custom_object(
        "sagemaker.services.k8s.aws", "v1alpha1", info["profile_namespace"], "trainingjobs",
        label_selector="labwiz.dev/lineage=0c5f9e2b-lab")["items"]
    assert [o["metadata"]["name"] for o in found] == ["tc-kmeans-ok"]
    assert found[0]["metadata"]["labels"]["labwiz.dev/kfp-run-id"] == "tc-run-1"
    tags = {t["Key"]: t["Value"] for t in _sagemaker(info).list_tags(ResourceArn=arn)["Tags"]}
    assert tags["labwiz:lineage"] == "0c5f9e2b-lab" and tags["labwiz:kfp-run-id"] == "tc-run-1"
    assert tags["labwiz:managed"] == "true"
    assert tags["services.k8s.aws/namespace"] == info["profile_namespace"]  # ACK's own still there


def test_injected_failure_fails_the_task_with_failure_reason(lab, monkeypatch, capfd):
    info, component, state = lab
    monkeypatch.setenv("KUBECONFIG", info["kubeconfig"])
    assert run_labwiz(["--state-dir", str(state), "sandbox", "fail", "s3=AccessDenied"]).returncode == 0
    try:
        with pytest.raises(RuntimeError):
            _train(info, component, "tc-kmeans-denied")
        # the same step called in this process: the exception itself, not just the log
        with pytest.raises(Exception) as direct:
            _train(info, component.python_func, "tc-kmeans-denied-direct")
    finally:
        run_labwiz(["--state-dir", str(state), "sandbox", "fail", "--clear"])
    captured = capfd.readouterr()
    out = captured.out + captured.err
    sm = _sagemaker(info)
    reason = sm.describe_training_job(TrainingJobName="tc-kmeans-denied")["FailureReason"]
    assert "AccessDenied" in reason
    # the exception that failed the KFP task (the traceback's last line) carries failureReason
    raised = [line.strip() for line in out.splitlines()
              if line.strip().startswith("ack_component_runtime.ComponentError: ")]
    assert raised, out[-3000:]
    assert f"tc-kmeans-denied failed: trainingJobStatus=Failed: {reason}" in raised[-1], raised[-1]
    direct_reason = sm.describe_training_job(TrainingJobName="tc-kmeans-denied-direct")["FailureReason"]
    assert type(direct.value).__name__ == "ComponentError"
    assert f"trainingJobStatus=Failed: {direct_reason}" in str(direct.value), str(direct.value)
