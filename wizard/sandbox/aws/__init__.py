"""The sandbox's AWS endpoint: moto (IAM, STS, S3, EKS, CloudWatch Logs, ...) and our SageMaker
app behind one loopback URL, with fault injection and state that survives restarts.

Public names:

* :class:`~wizard.sandbox.aws.server.AwsServer` - the endpoint (``start``/``url``/``healthy``/``stop``)
* :data:`INTERNAL_ACCESS_KEY_ID`, :data:`INTERNAL_SECRET_ACCESS_KEY` - credentials that pass
  every fault (for the sandbox's own calls)
* :func:`internal_client` - a boto3 client signed with them
* :data:`TEST_ACCESS_KEY_ID`, :data:`TEST_SECRET_ACCESS_KEY` - what learners' tools use
"""

from __future__ import annotations

from typing import Any

from .dispatch import INTERNAL_ACCESS_KEY_ID, INTERNAL_SECRET_ACCESS_KEY

#: moto accepts any credentials; these are the conventional test ones the learner's env gets
TEST_ACCESS_KEY_ID = "testing"
TEST_SECRET_ACCESS_KEY = "testing"


def internal_client(service: str, aws_url: str, region: str) -> Any:
    """A boto3 client for ``service`` on the sandbox endpoint that faults never touch."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=aws_url,
        region_name=region,
        aws_access_key_id=INTERNAL_ACCESS_KEY_ID,
        aws_secret_access_key=INTERNAL_SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


__all__ = [
    "INTERNAL_ACCESS_KEY_ID",
    "INTERNAL_SECRET_ACCESS_KEY",
    "TEST_ACCESS_KEY_ID",
    "TEST_SECRET_ACCESS_KEY",
    "internal_client",
]
