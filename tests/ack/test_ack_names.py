"""ACK's naming rule applied to botocore member names, including the tricky ones."""

from __future__ import annotations

import pytest

from wizard.sandbox.ack.names import ack_field_name, kind_plural, split_words


@pytest.mark.parametrize(
    "member, expected",
    [
        ("RoleArn", "roleARN"),
        ("ExecutionRoleArn", "executionRoleARN"),
        ("KmsKeyId", "kmsKeyID"),
        ("MaxPayloadInMB", "maxPayloadInMB"),
        ("VolumeSizeInGB", "volumeSizeInGB"),
        ("S3Uri", "s3URI"),
        ("Url", "url"),
        ("ModelDataUrl", "modelDataURL"),
        ("SubnetIds", "subnetIDs"),
        ("SecurityGroupIds", "securityGroupIDs"),
        ("HomeEfsFileSystemKmsKeyId", "homeEFSFileSystemKMSKeyID"),
        ("HomeEfsFileSystemUid", "homeEFSFileSystemUID"),
        ("AutoMLJobArn", "autoMLJobARN"),
        ("S3ModelArtifacts", "s3ModelArtifacts"),
        ("ImageUri", "imageURI"),
        ("HumanTaskUiArn", "humanTaskUIARN"),
        ("EnableSSMAccess", "enableSSMAccess"),
        ("VpcConfig", "vpcConfig"),
        ("IpAddressType", "ipAddressType"),
        ("Type", "type_"),
        ("HyperParameterTuningJobName", "hyperParameterTuningJobName"),
        ("TrainingJobStatus", "trainingJobStatus"),
    ],
)
def test_names_follow_ack_rules(member: str, expected: str) -> None:
    """The names the lab's users type in ACK manifests come out exactly."""
    assert ack_field_name(member) == expected


@pytest.mark.parametrize(
    "member, expected",
    [
        # whole words only: these contain an initialism's letters but are not initialisms
        ("SingleSignOnUserIdentifier", "singleSignOnUserIdentifier"),
        ("IdleSettings", "idleSettings"),
        ("Urls", "urls"),
        ("ArnList", "arnList"),
        ("Parameters", "parameters"),
        ("ContainerArguments", "containerArguments"),
        ("MlflowConfig", "mlflowConfig"),
        ("KMSKeyId", "kmsKeyID"),
        ("RuleEvaluatorImage", "ruleEvaluatorImage"),
        ("DefaultResourceSpec", "defaultResourceSpec"),
    ],
)
def test_no_false_initialisms(member: str, expected: str) -> None:
    """Initialisms match at word boundaries, plurals keep their lower-case s."""
    assert ack_field_name(member) == expected


def test_split_words_keeps_digits_and_upper_runs() -> None:
    """Digits stay with the word before them; a capital run before a word is its own word."""
    assert split_words("S3Uri") == ["S3", "Uri"]
    assert split_words("MaxPayloadInMB") == ["Max", "Payload", "In", "MB"]
    assert split_words("AutoMLJobArn") == ["Auto", "ML", "Job", "Arn"]
    assert split_words("Ec2InstanceType") == ["Ec2", "Instance", "Type"]


def test_empty_name_is_an_error() -> None:
    """A name without letters or digits cannot be a field; the error says so."""
    with pytest.raises(ValueError, match="no letters or digits"):
        ack_field_name("--")


@pytest.mark.parametrize(
    "kind, plural",
    [("TrainingJob", "trainingjobs"), ("EndpointConfig", "endpointconfigs"),
     ("HyperParameterTuningJob", "hyperparametertuningjobs"), ("Model", "models")],
)
def test_kind_plural(kind: str, plural: str) -> None:
    """Plurals match the real CRDs' resource names."""
    assert kind_plural(kind) == plural


def test_no_two_members_share_a_field_name() -> None:
    """Across every structure in SageMaker's model, renaming never merges two members."""
    from wizard.sandbox.ack.model import service_model

    model = service_model()
    clashes = []
    for shape_name in model.shape_names:
        shape = model.shape_for(shape_name)
        if shape.type_name != "structure":
            continue
        seen: dict[str, str] = {}
        for member in shape.members:
            name = ack_field_name(member)
            if name in seen:
                clashes.append((shape_name, seen[name], member))
            seen[name] = member
    assert clashes == []
