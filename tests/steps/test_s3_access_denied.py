"""A 403 from S3 on the lab's bucket says which of its two causes it is.

The sandbox cannot produce an S3 AccessDenied from a policy: moto's authorization checks only
the caller's IAM policies, never a bucket policy, and it is off for the whole server (turned on
with moto's INITIAL_NO_AUTH_ACTION_COUNT it would apply to every client of the shared sandbox).
So these tests drive :func:`wizard.s3data.ensure_bucket` with a
real boto3 S3 client whose answers come from botocore's Stubber: HeadBucket answers 403 (as S3
does, with no body) to the owner-checked call, and then either answers or refuses the call
without the owner check.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from wizard.errors import InputError, StepError
from wizard.s3data import ensure_bucket

BUCKET = "sagemaker-lab-eu-west-1-123456789012"
ACCOUNT = "123456789012"
ARN = "arn:aws:iam::123456789012:user/workshop-learner"


class _Clients:
    """The context's clients: the stubbed S3 and STS."""

    def __init__(self, s3, sts):
        self._by_name = {"s3": s3, "sts": sts}

    def aws(self, name):
        """The stubbed client of ``name``."""
        return self._by_name[name]


class _Ctx:
    """What ensure_bucket reads of a step's context."""

    def __init__(self, s3, sts):
        self.clients = _Clients(s3, sts)

    def outputs_of(self, step_id):
        """The credentials step's account."""
        return {"account_id": ACCOUNT} if step_id == "credentials" else {}


class _Reporter:
    """Keeps the commands shown."""

    def __init__(self):
        self.commands = []

    def command(self, command):
        self.commands.append(command.shell())

    def log(self, message, level="info"):
        pass


def _clients():
    """A stubbed S3 and STS client (no network: every answer is stubbed)."""
    kwargs = dict(region_name="eu-west-1", aws_access_key_id="AKIAEXAMPLE",
                  aws_secret_access_key="example")
    s3, sts = boto3.client("s3", **kwargs), boto3.client("sts", **kwargs)
    return s3, Stubber(s3), sts, Stubber(sts)


def test_access_denied_is_reported_as_access_denied_with_what_to_check():
    """403 with and without the owner check: access is denied, not "another account's"; the
    message names the caller, the permissions and the bucket policy to check."""
    s3, s3_stub, sts, sts_stub = _clients()
    s3_stub.add_client_error("head_bucket", "403", "Forbidden", http_status_code=403,
                             expected_params={"Bucket": BUCKET, "ExpectedBucketOwner": ACCOUNT})
    s3_stub.add_client_error("head_bucket", "403", "Forbidden", http_status_code=403,
                             expected_params={"Bucket": BUCKET})
    sts_stub.add_response("get_caller_identity", {"UserId": "AIDA", "Account": ACCOUNT, "Arn": ARN})
    with s3_stub, sts_stub, pytest.raises(StepError) as caught:
        ensure_bucket(_Ctx(s3, sts), _Reporter(), BUCKET, "eu-west-1", "data-upload")
    error = caught.value
    assert "access to the bucket" in error.message.lower() and "denied" in error.message
    assert ARN in error.message
    assert "another account" not in error.message
    assert f"s3:ListBucket on arn:aws:s3:::{BUCKET}" in error.remediation
    assert "s3:PutObject" in error.remediation and f"get-bucket-policy --bucket {BUCKET}" in error.remediation
    s3_stub.assert_no_pending_responses()


def test_a_bucket_that_answers_without_the_owner_check_is_another_accounts():
    """403 only with the owner check: the bucket exists and is someone else's."""
    s3, s3_stub, sts, sts_stub = _clients()
    s3_stub.add_client_error("head_bucket", "403", "Forbidden", http_status_code=403,
                             expected_params={"Bucket": BUCKET, "ExpectedBucketOwner": ACCOUNT})
    s3_stub.add_response("head_bucket", {}, expected_params={"Bucket": BUCKET})
    with s3_stub, sts_stub, pytest.raises(InputError) as caught:
        ensure_bucket(_Ctx(s3, sts), _Reporter(), BUCKET, "eu-west-1", "data-upload")
    assert "belongs to another account" in caught.value.message
    assert "choose another name" in caught.value.remediation
