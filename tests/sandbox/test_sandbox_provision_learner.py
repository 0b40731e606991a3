"""Provisioning the learner's IAM user and key, in this process against a real AWS endpoint:
idempotent, the key kept while its secret is known, replaced (never piled up) when not."""

from __future__ import annotations

import json
import os
import stat

import pytest

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from wizard.sandbox.aws import internal_client  # noqa: E402
from wizard.sandbox.aws.provision import LEARNER_USER, RECORD, provision  # noqa: E402
from wizard.sandbox.aws.server import AwsServer  # noqa: E402

REGION = "eu-west-1"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One AWS endpoint for the module."""
    srv = AwsServer(tmp_path_factory.mktemp("aws-provision"))
    srv.start()
    yield srv
    srv.stop()


def _as_learner(server, acct, service):
    """A boto3 client signed with the learner's key."""
    import boto3

    return boto3.client(service, endpoint_url=server.url, region_name=REGION,
                        aws_access_key_id=acct.learner_access_key_id,
                        aws_secret_access_key=acct.learner_secret_access_key)


def _keys(server):
    """The learner's access key ids, as IAM lists them."""
    iam = internal_client("iam", server.url, REGION)
    return [k["AccessKeyId"] for k in
            iam.list_access_keys(UserName=LEARNER_USER)["AccessKeyMetadata"]]


def test_provision_makes_the_learner_and_keeps_the_key(server):
    acct = provision(server, REGION)
    assert acct.learner_user_arn == f"arn:aws:iam::{acct.account_id}:user/{LEARNER_USER}"
    assert acct.learner_access_key_id.startswith("AKIA") and acct.learner_secret_access_key
    assert acct.learner_secret_access_key not in repr(acct)  # never in a log line
    me = _as_learner(server, acct, "sts").get_caller_identity()
    assert me["Arn"] == acct.learner_user_arn
    record = server.data_dir / RECORD
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    again = provision(server, REGION)
    assert again.credentials() == acct.credentials()
    assert _keys(server) == [acct.learner_access_key_id]


def test_a_record_without_the_learner_gets_one_key_not_two(server):
    # a record written before the learner existed, or whose secret was lost
    first = provision(server, REGION)
    record = server.data_dir / RECORD
    doc = json.loads(record.read_text())
    for key in ("learner_user_arn", "learner_access_key_id", "learner_secret_access_key"):
        doc.pop(key)
    record.write_text(json.dumps(doc))
    second = provision(server, REGION)
    assert second.learner_user_arn == first.learner_user_arn
    assert second.learner_access_key_id != first.learner_access_key_id
    assert _keys(server) == [second.learner_access_key_id]  # the unusable key is gone
    assert _as_learner(server, second, "sts").get_caller_identity()["Arn"] == \
        second.learner_user_arn
    # the other provisioned objects were found, not made again
    assert (second.execution_role_arn, second.bucket, second.oidc_issuer) == \
        (first.execution_role_arn, first.bucket, first.oidc_issuer)


def test_a_deleted_key_is_replaced(server):
    acct = provision(server, REGION)
    iam = internal_client("iam", server.url, REGION)
    iam.delete_access_key(UserName=LEARNER_USER, AccessKeyId=acct.learner_access_key_id)
    fresh = provision(server, REGION)
    assert fresh.learner_access_key_id != acct.learner_access_key_id
    assert _keys(server) == [fresh.learner_access_key_id]
    policies = {p["PolicyName"] for p in
                iam.list_attached_user_policies(UserName=LEARNER_USER)["AttachedPolicies"]}
    assert "AmazonSageMakerFullAccess" in policies
