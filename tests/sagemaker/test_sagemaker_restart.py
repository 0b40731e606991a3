"""State survives a SIGKILL of the service: finished resources stay, endpoints keep serving,
and work that was in flight is marked Failed with a clear reason."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import boto3

from tests.sagemaker.conftest import REGION, REPO, training_request


def _start(data_dir, moto_url):
    """Start the stand-alone service; (process, sagemaker client, runtime client)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard.sandbox.aws.sagemaker.standalone", "--data-dir",
         str(data_dir), "--aws-url", moto_url, "--region", REGION, "--delay", "0.3"],
        stdout=subprocess.PIPE, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    line = proc.stdout.readline()
    assert line, "the standalone SageMaker service did not start"
    url = json.loads(line)["url"]
    sm = boto3.client("sagemaker", endpoint_url=url, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    runtime = boto3.client("sagemaker-runtime", endpoint_url=url, region_name=REGION,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    return proc, sm, runtime


def test_sigkill_keeps_resources_and_fails_work_in_flight(lab, trained, processed, tmp_path):
    """After SIGKILL and a restart: kept resources, serving endpoint, failed job."""
    from wizard.kmeans_images import kmeans_image_uri

    proc, sm, runtime = _start(tmp_path, lab.moto_url)
    try:
        sm.create_model(ModelName="kept", ExecutionRoleArn=lab.role_arn, PrimaryContainer={
            "Image": kmeans_image_uri(REGION),
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"]})
        sm.create_endpoint_config(EndpointConfigName="kept", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "kept", "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}])
        sm.create_endpoint(EndpointName="kept", EndpointConfigName="kept")
        lab.wait(sm.describe_endpoint, "EndpointName", "kept", "EndpointStatus")
        sm.create_training_job(**training_request(lab, "in-flight", processed))
        assert sm.describe_training_job(TrainingJobName="in-flight")[
            "TrainingJobStatus"] == "InProgress"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    proc, sm, runtime = _start(tmp_path, lab.moto_url)
    try:
        out = sm.describe_training_job(TrainingJobName="in-flight")
        assert out["TrainingJobStatus"] == "Failed"
        assert "stopped while this job was in progress" in out["FailureReason"]
        assert out["SecondaryStatus"] == "Failed"
        assert sm.describe_model(ModelName="kept")["ModelName"] == "kept"
        assert sm.describe_endpoint(EndpointName="kept")["EndpointStatus"] == "InService"
        answer = runtime.invoke_endpoint(EndpointName="kept", ContentType="text/csv",
                                         Body=",".join(["0.5"] * 784))
        assert "closest_cluster" in json.loads(answer["Body"].read())["predictions"][0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
