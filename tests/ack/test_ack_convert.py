"""Spec to request and response to status: exact botocore names at every depth."""

from __future__ import annotations

import datetime as dt

import pytest

from ack_samples import all_samples
from wizard.sandbox.ack.convert import SpecError, response_to_status, spec_to_request
from wizard.sandbox.ack.model import operation


@pytest.mark.parametrize("sample", all_samples(), ids=lambda s: s["kind"])
def test_spec_becomes_a_valid_create_request(sample: dict) -> None:
    """botocore's own parameter validator accepts every converted sample."""
    from botocore.validate import ParamValidator

    kind = sample["kind"]
    request = spec_to_request(kind, sample["spec"])
    report = ParamValidator().validate(request, operation(f"Create{kind}").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_nested_names_map_back_exactly() -> None:
    """Deep fields, map keys and the Go-keyword rename all come back as botocore spells them."""
    request = spec_to_request("TrainingJob", all_samples()[2]["spec"])
    channel = request["InputDataConfig"][0]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"].startswith("s3://")
    assert request["RoleArn"].startswith("arn:aws:iam::")
    assert request["ResourceConfig"]["VolumeSizeInGB"] == 5
    assert request["HyperParameters"]["feature_dim"] == "784"  # map keys are data, untouched
    assert request["Tags"] == [{"Key": "lab", "Value": "kfp-sagemaker"}]
    hpo = spec_to_request("HyperParameterTuningJob", all_samples()[1]["spec"])
    objective = hpo["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    assert objective == {"Type": "Minimize", "MetricName": "test:msd"}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s["resourceConfig"].update(instanceCount="1"), "expected an integer"),
        (lambda s: s["hyperParameters"].update(k=10), "quote it"),
        (lambda s: s.update(roleArn="x"), "spec.roleArn: unknown field"),
        (lambda s: s.update(inputDataConfig={"a": 1}), "expected a list"),
    ],
)
def test_bad_spec_gives_a_clear_error(mutate, message: str) -> None:
    """Type and name mistakes name the field and what to do."""
    spec = all_samples()[2]["spec"]
    mutate(spec)
    with pytest.raises(SpecError, match=message):
        spec_to_request("TrainingJob", spec)


def test_describe_output_becomes_status() -> None:
    """Describe members that are status fields land in status under ACK names (spec fields do
    not, set or not); times become RFC 3339."""
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    response = {
        "TrainingJobName": "kmeans-mnist",
        "TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/kmeans-mnist",
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/out/model.tar.gz"},
        "CreationTime": when,
        "FinalMetricDataList": [{"MetricName": "test:msd", "Value": 1.5, "Timestamp": when}],
        "ResponseMetadata": {"HTTPStatusCode": 200},
        # spec fields this resource leaves unset: Describe reports them, status has no place
        # for them (the API server would prune them, and the controller write them again)
        "EnableNetworkIsolation": False, "EnableManagedSpotTraining": False,
    }
    status = response_to_status("TrainingJob", response, {"trainingJobName"})
    assert status == {
        "trainingJobStatus": "Completed",
        "secondaryStatus": "Completed",
        "modelArtifacts": {"s3ModelArtifacts": "s3://b/out/model.tar.gz"},
        "creationTime": "2026-01-02T03:04:05Z",
        "finalMetricDataList": [{"metricName": "test:msd", "value": 1.5,
                                 "timestamp": "2026-01-02T03:04:05Z"}],
    }
