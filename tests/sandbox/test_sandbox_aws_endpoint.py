"""The AWS endpoint in this process: real boto3 clients against the real moto server on
loopback, through the dispatcher (routing, fault answers in each protocol, internal bypass) and
the snapshot store (state back after a wipe of moto's memory)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from sandbox_helpers import wait_for  # noqa: E402

from wizard.sandbox import faults as faults_mod  # noqa: E402
from wizard.sandbox.aws import internal_client  # noqa: E402
from wizard.sandbox.aws.server import AwsServer  # noqa: E402

REGION = "eu-west-1"
pytestmark = pytest.mark.timeout(120)


class Recorder:
    """A small WSGI app standing in for SageMaker, to see what the dispatcher routes to it."""

    def __init__(self):
        self.paths: list[tuple[str, str]] = []

    def __call__(self, environ, start_response):
        self.paths.append((environ["PATH_INFO"], environ.get("HTTP_X_AMZ_TARGET", "")))
        if environ["PATH_INFO"].endswith("/invocations"):
            body = b'{"predictions": [{"closest_cluster": 1}]}'
        else:
            body = json.dumps({"TrainingJobSummaries": []}).encode()
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                  ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One AWS endpoint for the module, with faults read from its data dir."""
    data_dir = tmp_path_factory.mktemp("aws")
    srv = AwsServer(data_dir, faults=faults_mod.Faults(data_dir))
    srv.start()
    srv.set_lab_bucket("lab-bucket-test")
    yield srv
    srv.stop()


@pytest.fixture
def faults(server):
    """Set faults for one test; cleared afterwards."""
    def set_faults(*specs: str) -> None:
        faults_mod.write(server.data_dir, [faults_mod.parse(s) for s in specs])

    yield set_faults
    faults_mod.write(server.data_dir, [])


def client(server, service, **kwargs):
    """A learner-side boto3 client: test credentials, no retries (to see each answer)."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=server.url, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1}, **kwargs))


def errors_of(calls, n=6):
    """Error codes (or 'ok') of ``n`` attempts of ``calls()``."""
    from botocore.exceptions import ClientError

    out = []
    for _ in range(n):
        try:
            calls()
            out.append("ok")
        except ClientError as exc:
            out.append((exc.response["Error"]["Code"],
                        exc.response["ResponseMetadata"]["HTTPStatusCode"]))
    return out


def test_core_services_answer(server):
    iam, s3, sts = client(server, "iam"), client(server, "s3"), client(server, "sts")
    logs, eks = client(server, "logs"), client(server, "eks")
    assert sts.get_caller_identity()["Account"] == "123456789012"
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    assert policy["Policy"]["PolicyName"] == "AmazonSageMakerFullAccess"
    s3.create_bucket(Bucket="endpoint-test-bucket",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="endpoint-test-bucket", Key="a/b.txt", Body=b"hello")
    assert s3.get_object(Bucket="endpoint-test-bucket", Key="a/b.txt")["Body"].read() == b"hello"
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert "/aws/sagemaker/TrainingJobs" in names
    assert "clusters" in eks.list_clusters()


@pytest.mark.parametrize("service,call,code,status", [
    ("iam", lambda c: c.list_roles(), "Throttling", 400),
    ("logs", lambda c: c.describe_log_groups(), "ThrottlingException", 400),
    ("eks", lambda c: c.list_clusters(), "ThrottlingException", 400),
    ("s3", lambda c: c.list_buckets(), "SlowDown", 503),
])
def test_throttle_answers_in_each_protocol(server, faults, service, call, code, status):
    faults("throttle=0.5")
    c = client(server, service)
    seen = errors_of(lambda: call(c))
    assert (code, status) in seen and "ok" in seen, seen


def test_aws_5xx_answers_and_a_retry_gets_through(server, faults):
    import boto3
    from botocore.config import Config

    faults("aws-5xx=0.5")
    seen = errors_of(lambda: client(server, "iam").list_roles(), n=8)
    codes = {s[0] for s in seen if s != "ok"}
    assert codes == {"InternalFailure", "ServiceUnavailable"}, seen
    # the SDK's standard retry rides through a transient fault
    retrying = boto3.client("iam", endpoint_url=server.url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(retries={"mode": "standard", "max_attempts": 3}))
    for _ in range(4):
        retrying.list_roles()


def test_s3_access_denied_only_on_the_lab_bucket(server, faults):
    from botocore.exceptions import ClientError

    s3 = client(server, "s3")
    internal = internal_client("s3", server.url, REGION)
    internal.create_bucket(Bucket="lab-bucket-test",
                           CreateBucketConfiguration={"LocationConstraint": REGION})
    internal.create_bucket(Bucket="other-bucket-test",
                           CreateBucketConfiguration={"LocationConstraint": REGION})
    faults("s3=AccessDenied")
    for call in (lambda: s3.put_object(Bucket="lab-bucket-test", Key="k", Body=b"x"),
                 lambda: s3.list_objects_v2(Bucket="lab-bucket-test")):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "AccessDenied"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as err:  # HEAD: a bare 403, as S3 sends
        s3.head_object(Bucket="lab-bucket-test", Key="k")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    s3.put_object(Bucket="other-bucket-test", Key="k", Body=b"x")  # other buckets unaffected
    internal.put_object(Bucket="lab-bucket-test", Key="k", Body=b"x")  # the sandbox's own call


def test_internal_credentials_pass_every_fault(server, faults):
    import boto3
    from botocore.config import Config

    from wizard.sandbox.aws import INTERNAL_ACCESS_KEY_ID

    faults("throttle=0.5", "aws-5xx=0.5")
    strict = boto3.client("iam", endpoint_url=server.url, region_name=REGION,
                          aws_access_key_id=INTERNAL_ACCESS_KEY_ID, aws_secret_access_key="x",
                          config=Config(retries={"total_max_attempts": 1}))
    for _ in range(6):
        strict.list_roles()
    assert "ok" not in errors_of(lambda: client(server, "iam").list_roles(), n=2)[1:]


def test_sagemaker_calls_are_routed_to_the_sagemaker_app(server):
    recorder = Recorder()
    server.attach_sagemaker(recorder)
    try:
        assert client(server, "sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
        runtime = client(server, "sagemaker-runtime")
        answer = runtime.invoke_endpoint(EndpointName="Endpoint-1", ContentType="text/csv",
                                         Body=b"0.1,0.2")
        assert json.loads(answer["Body"].read())["predictions"][0]["closest_cluster"] == 1
        assert recorder.paths[0][1] == "SageMaker.ListTrainingJobs"
        assert recorder.paths[1][0] == "/endpoints/Endpoint-1/invocations"
        client(server, "iam").list_roles()  # and IAM still goes to moto
        assert len(recorder.paths) == 2
    finally:
        server.attach_sagemaker(None, "detached by the test")


def test_missing_sagemaker_is_a_clear_503(server):
    from botocore.exceptions import ClientError

    server.attach_sagemaker(None, "wizard/sandbox/aws/sagemaker is not in this build")
    with pytest.raises(ClientError) as err:
        client(server, "sagemaker").list_training_jobs()
    assert err.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert "not in this build" in err.value.response["Error"]["Message"]


def test_state_comes_back_after_moto_forgets_everything(server, tmp_path):
    """Snapshot, wipe moto's memory, restore in a new server: same ids, same bytes."""
    from moto.core.base_backend import BackendDict

    iam, s3 = client(server, "iam"), client(server, "s3")
    role_id = iam.create_role(RoleName="persisted-role",
                              AssumeRolePolicyDocument="{}")["Role"]["RoleId"]
    iam.attach_role_policy(RoleName="persisted-role",
                           PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    iam.create_user(UserName="persisted-user")
    key_id = iam.create_access_key(UserName="persisted-user")["AccessKey"]["AccessKeyId"]
    big = os.urandom(600_000)  # above the blob threshold: stored once, content-addressed
    s3.create_bucket(Bucket="persisted-bucket",
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.upload_fileobj(io.BytesIO(big), "persisted-bucket", "big.bin")
    before = server.store.snapshots_written
    wait_for("a snapshot after the changes", lambda: server.store.snapshots_written > before)
    server.store.snapshot(None)
    snap_dir = Path(server.store.dir)
    assert any((snap_dir / "blobs").iterdir())

    BackendDict.reset()  # moto forgets everything, as a new process would start
    with pytest.raises(Exception):
        iam.get_role(RoleName="persisted-role")
    second = AwsServer(server.data_dir)
    second.start()
    try:
        iam2, s3b = client(second, "iam"), client(second, "s3")
        assert iam2.get_role(RoleName="persisted-role")["Role"]["RoleId"] == role_id
        keys = iam2.list_access_keys(UserName="persisted-user")["AccessKeyMetadata"]
        assert [k["AccessKeyId"] for k in keys] == [key_id]
        attached = iam2.list_attached_role_policies(RoleName="persisted-role")
        assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == [
            "AmazonSageMakerFullAccess"]
        pol = iam2.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        assert pol["Policy"]["AttachmentCount"] == 1
        assert s3b.get_object(Bucket="persisted-bucket", Key="big.bin")["Body"].read() == big
        loc = s3b.get_bucket_location(Bucket="persisted-bucket")["LocationConstraint"]
        assert loc == REGION
    finally:
        second.stop()
