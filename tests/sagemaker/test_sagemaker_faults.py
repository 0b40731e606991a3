"""Every fault and every refusal gives SageMaker's real error, through boto3."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.sagemaker.conftest import BUCKET, REGION, processing_request, training_request


@pytest.fixture
def faults(lab):
    """Set faults for one test; cleared afterwards."""
    yield lab.set_faults
    lab.set_faults()


def _error(call, **kwargs):
    """The error a call must raise."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]


def test_malformed_role_arn(lab, processed):
    """A role ARN that is not an ARN fails the shape check."""
    req = training_request(lab, "bad-role", processed)
    req["RoleArn"] = "SageMakerExecutionRole"
    err = _error(lab.sm.create_training_job, **req)
    assert err["Code"] == "ValidationException"
    assert err["Message"].startswith("1 validation error detected: Value 'SageMakerExecutionRole' "
                                     "at 'roleArn' failed to satisfy constraint")


def test_missing_or_untrusting_role_cannot_be_assumed(lab, processed):
    """A missing role, or one not trusting SageMaker, cannot be assumed."""
    import json

    req = training_request(lab, "no-role", processed)
    req["RoleArn"] = lab.role_arn.replace("SageMakerExecutionRole", "NoSuchRole")
    err = _error(lab.sm.create_training_job, **req)
    assert err["Code"] == "ValidationException"
    assert err["Message"] == (f"Could not assume role {req['RoleArn']}. Please ensure that the "
                              "role exists and allows principal 'sagemaker.amazonaws.com' to "
                              "assume the role.")
    trust_ec2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = lab.iam.create_role(RoleName="Ec2Only", AssumeRolePolicyDocument=json.dumps(
        trust_ec2))["Role"]["Arn"]
    req["RoleArn"] = arn
    assert "Could not assume role" in _error(lab.sm.create_training_job, **req)["Message"]
    with pytest.raises(ClientError):
        lab.sm.describe_training_job(TrainingJobName="no-role")


def test_role_fault(lab, processed, faults):
    """role=AccessDenied refuses even a good role."""
    faults("role=AccessDenied")
    err = _error(lab.sm.create_processing_job, **processing_request(lab, "role-fault"))
    assert err["Code"] == "ValidationException"
    assert err["Message"].startswith(f"Could not assume role {lab.role_arn}.")


def test_not_found_and_duplicates(lab, trained):
    """Missing resources and taken names get SageMaker's codes and texts."""
    err = _error(lab.sm.describe_training_job, TrainingJobName="nope")
    assert (err["Code"], err["Message"]) == ("ValidationException", "Requested resource not found.")
    err = _error(lab.sm.describe_processing_job, ProcessingJobName="nope")
    assert err["Message"] == "Could not find requested job with name nope"
    err = _error(lab.sm.describe_hyper_parameter_tuning_job, HyperParameterTuningJobName="nope")
    assert err["Code"] == "ResourceNotFound"
    err = _error(lab.sm.describe_endpoint, EndpointName="nope")
    assert err["Message"] == (f'Could not find endpoint "arn:aws:sagemaker:{REGION}:'
                              '123456789012:endpoint/nope".')
    err = _error(lab.sm.create_training_job, **training_request(lab, "sm-kmeans", "s3://x/y"))
    assert err["Code"] == "ResourceInUse"


def test_training_limit_fault(lab, processed, faults):
    """training=ResourceLimitExceeded refuses training and fails tuning."""
    faults("training=ResourceLimitExceeded")
    err = _error(lab.sm.create_training_job, **training_request(lab, "limited", processed))
    assert err["Code"] == "ResourceLimitExceeded"
    assert err["Message"].startswith("The account-level service limit 'ml.m5.xlarge for training "
                                     "job usage' is 0 Instances,")
    base = training_request(lab, "unused", processed)
    lab.sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="limited-tune",
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"IntegerParameterRanges": [
                {"Name": "extra_center_factor", "MinValue": "2", "MaxValue": "4"}]}},
        TrainingJobDefinition={
            "StaticHyperParameters": {"k": "10", "feature_dim": "784"},
            "AlgorithmSpecification": base["AlgorithmSpecification"], "RoleArn": lab.role_arn,
            "InputDataConfig": base["InputDataConfig"], "OutputDataConfig": base["OutputDataConfig"],
            "ResourceConfig": base["ResourceConfig"], "StoppingCondition": base["StoppingCondition"]})
    out = lab.wait(lab.sm.describe_hyper_parameter_tuning_job, "HyperParameterTuningJobName",
                   "limited-tune", "HyperParameterTuningJobStatus")
    assert out["HyperParameterTuningJobStatus"] == "Failed"
    assert "'ml.m5.xlarge for training job usage' is 0 Instances" in out["FailureReason"]


def test_s3_fault_fails_the_job_at_download(lab, processed, faults):
    """s3=AccessDenied fails a training job while downloading."""
    faults("s3=AccessDenied")
    lab.sm.create_training_job(**training_request(lab, "s3-denied", processed))
    out = lab.wait(lab.sm.describe_training_job, "TrainingJobName", "s3-denied",
                   "TrainingJobStatus")
    assert out["TrainingJobStatus"] == "Failed"
    assert out["FailureReason"].startswith("ClientError: Data download failed:")
    assert "AccessDenied (403)" in out["FailureReason"]


def test_unknown_image_and_bad_hyperparameters_fail_clearly(lab, processed):
    """Unknown images and bad hyperparameters fail with reasons that say what to fix."""
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-kmeans:latest"
    lab.sm.create_training_job(**training_request(lab, "odd-image", processed, image=image))
    hp = {"k": "ten", "feature_dim": "784"}
    lab.sm.create_training_job(**training_request(lab, "odd-hp", processed, hyperparameters=hp))
    lab.sm.create_processing_job(**processing_request(lab, "odd-proc", image="ubuntu:22.04"))
    out = lab.wait(lab.sm.describe_training_job, "TrainingJobName", "odd-image",
                   "TrainingJobStatus")
    assert out["TrainingJobStatus"] == "Failed"
    assert f"The training image '{image}' is not one this sandbox can run" in out["FailureReason"]
    assert "438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1" in out["FailureReason"]
    out = lab.wait(lab.sm.describe_training_job, "TrainingJobName", "odd-hp", "TrainingJobStatus")
    assert out["TrainingJobStatus"] == "Failed"
    assert out["FailureReason"].startswith("ClientError:") and "'k'" in out["FailureReason"]
    out = lab.wait(lab.sm.describe_processing_job, "ProcessingJobName", "odd-proc",
                   "ProcessingJobStatus")
    assert out["ProcessingJobStatus"] == "Failed"
    assert "'ubuntu:22.04' is not one this sandbox can run" in out["FailureReason"]


def test_failing_script_reports_its_exit_message(lab):
    """A script that exits non-zero fails the job with its last output."""
    req = processing_request(lab, "no-input")
    req["ProcessingInputs"] = [req["ProcessingInputs"][1]]  # the script, but no pickle
    lab.sm.create_processing_job(**req)
    out = lab.wait(lab.sm.describe_processing_job, "ProcessingJobName", "no-input",
                   "ProcessingJobStatus")
    assert out["ProcessingJobStatus"] == "Failed"
    assert out["FailureReason"] == "AlgorithmError: See job logs for more information"
    assert "mnist.pkl.gz not found" in out["ExitMessage"]


def _endpoint_parts(lab, trained, suffix):
    """A model and an endpoint config on the trained model."""
    from wizard.kmeans_images import kmeans_image_uri

    lab.sm.create_model(ModelName=f"m-{suffix}", ExecutionRoleArn=lab.role_arn, PrimaryContainer={
        "Image": kmeans_image_uri(REGION),
        "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"]})
    lab.sm.create_endpoint_config(EndpointConfigName=f"c-{suffix}", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"m-{suffix}", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])


def test_endpoint_faults(lab, trained, faults):
    """The endpoint faults refuse, or fail the endpoint, as SageMaker does."""
    _endpoint_parts(lab, trained, "faults")
    faults("endpoint=ResourceLimitExceeded")
    err = _error(lab.sm.create_endpoint, EndpointName="e-limit", EndpointConfigName="c-faults")
    assert err["Code"] == "ResourceLimitExceeded"
    assert "'ml.m5.large for endpoint usage' is 0 Instances" in err["Message"]
    faults("endpoint=FailedToReachInService")
    lab.sm.create_endpoint(EndpointName="e-sick", EndpointConfigName="c-faults")
    out = lab.wait(lab.sm.describe_endpoint, "EndpointName", "e-sick", "EndpointStatus")
    assert out["EndpointStatus"] == "Failed"
    assert out["FailureReason"] == ("The primary container for production variant AllTraffic did "
                                    "not pass the ping health check. Please check CloudWatch logs "
                                    "for this endpoint.")
    err = _error(lab.runtime.invoke_endpoint, EndpointName="e-sick", ContentType="text/csv",
                 Body="1,2")
    assert err["Code"] == "ValidationError"
    assert err["Message"] == "Endpoint e-sick of account 123456789012 not found."
    lab.sm.delete_endpoint(EndpointName="e-sick")
    # Deleting lasts one phase: on a loaded machine the next describe may already find it gone,
    # so each answer may be Deleting or not-found, and it must end not-found
    deadline = time.monotonic() + 60
    while True:
        try:
            status = lab.sm.describe_endpoint(EndpointName="e-sick")["EndpointStatus"]
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ValidationException", exc.response
            assert "Could not find endpoint" in exc.response["Error"]["Message"], exc.response
            break
        assert status == "Deleting", status
        assert time.monotonic() < deadline, "the deleted endpoint never went"
        time.sleep(0.1)
    faults("s3=AccessDenied")
    lab.sm.create_endpoint(EndpointName="e-nos3", EndpointConfigName="c-faults")
    out = lab.wait(lab.sm.describe_endpoint, "EndpointName", "e-nos3", "EndpointStatus")
    assert out["EndpointStatus"] == "Failed"
    assert out["FailureReason"].startswith(
        'Failed to download model data for container "container_1" from URL: "s3://')


def test_invoke_errors(lab, trained, faults):
    """InvokeEndpoint refusals: not in service, bad records, access denied."""
    _endpoint_parts(lab, trained, "invoke")
    lab.sm.create_endpoint(EndpointName="e-invoke", EndpointConfigName="c-invoke")
    err = _error(lab.runtime.invoke_endpoint, EndpointName="e-invoke", ContentType="text/csv",
                 Body="1,2")
    assert err["Message"] == "Endpoint e-invoke of account 123456789012 not found."  # Creating
    lab.wait(lab.sm.describe_endpoint, "EndpointName", "e-invoke", "EndpointStatus")
    err = _error(lab.runtime.invoke_endpoint, EndpointName="e-invoke", ContentType="text/csv",
                 Body="1,2")
    assert err["Code"] == "ModelError" and "784" in err["Message"]
    faults("invoke=AccessDenied")
    err = _error(lab.runtime.invoke_endpoint, EndpointName="e-invoke", ContentType="text/csv",
                 Body=",".join(["0"] * 784))
    assert err["Code"] == "AccessDeniedException"
    assert "is not authorized to perform: sagemaker:InvokeEndpoint" in err["Message"]
    err = _error(lab.runtime.invoke_endpoint, EndpointName="missing", ContentType="text/csv",
                 Body="1")
    assert err["Code"] == "AccessDeniedException"


def test_stop_training_job(lab, processed):
    """A stopped training job ends Stopped and cannot be stopped again."""
    lab.sm.create_training_job(**training_request(lab, "to-stop", processed))
    lab.sm.stop_training_job(TrainingJobName="to-stop")
    out = lab.wait(lab.sm.describe_training_job, "TrainingJobName", "to-stop",
                   "TrainingJobStatus")
    assert out["TrainingJobStatus"] == "Stopped"
    assert [t["Status"] for t in out["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    err = _error(lab.sm.stop_training_job, TrainingJobName="to-stop")
    assert err["Code"] == "ValidationException"


def test_list_and_tags(lab, trained):
    """Lists filter and page; tags are added, listed and deleted."""
    page = lab.sm.list_training_jobs(NameContains="sm-kmeans", StatusEquals="Completed")
    assert [j["TrainingJobName"] for j in page["TrainingJobSummaries"]] == ["sm-kmeans"]
    arn = trained["TrainingJobArn"]
    lab.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "lab", "Value": "1"}])
    assert lab.sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "lab", "Value": "1"}]
    lab.sm.delete_tags(ResourceArn=arn, TagKeys=["lab"])
    assert lab.sm.list_tags(ResourceArn=arn)["Tags"] == []
    pages = lab.sm.get_paginator("list_training_jobs").paginate(PaginationConfig={"PageSize": 1})
    names = [j["TrainingJobName"] for p in pages for j in p["TrainingJobSummaries"]]
    assert "sm-kmeans" in names and len(names) == len(set(names))
