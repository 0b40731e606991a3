"""What the SageMaker app needs from the rest of the AWS endpoint: clients, the account, roles.

Calls the app makes for itself (IAM look-ups, the account id) sign with the AWS endpoint's
internal credentials when that package provides them, so injected faults hit only the learner's
calls; the scenario faults this app owns are applied here explicitly.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import unquote

from .errors import cannot_assume

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


def internal_credentials() -> dict:
    """The credentials the sandbox's own calls use (faults skip them)."""
    try:
        from wizard.sandbox.aws import INTERNAL_ACCESS_KEY_ID, INTERNAL_SECRET_ACCESS_KEY
    except ImportError:  # the endpoint package is optional: plain moto takes any key
        return {"key": "testing", "secret": "testing"}
    return {"key": INTERNAL_ACCESS_KEY_ID, "secret": INTERNAL_SECRET_ACCESS_KEY}


def partition(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class AwsContext:
    """boto3 clients for the AWS endpoint at ``aws_url``, created once and shared."""

    def __init__(self, aws_url: str, region: str):
        """Remember where AWS is; clients are built on first use."""
        self.aws_url = aws_url
        self.region = region
        self.credentials = internal_credentials()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._identity: dict | None = None

    def client(self, service: str) -> Any:
        """A shared client (boto3 clients are safe to share once built)."""
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                self._clients[service] = boto3.client(
                    service, endpoint_url=self.aws_url, region_name=self.region,
                    aws_access_key_id=self.credentials["key"],
                    aws_secret_access_key=self.credentials["secret"],
                    config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                  connect_timeout=5, read_timeout=30),
                )
            return self._clients[service]

    def identity(self) -> dict:
        """STS caller identity (Account, Arn), asked once."""
        if self._identity is None:
            self._identity = self.client("sts").get_caller_identity()
        return self._identity

    @property
    def account_id(self) -> str:
        """The account the sandbox's resources belong to."""
        return self.identity()["Account"]

    def arn(self, resource_type: str, name: str) -> str:
        """A SageMaker ARN (SageMaker lower-cases the name in its ARNs)."""
        return (f"arn:{partition(self.region)}:sagemaker:{self.region}:{self.account_id}:"
                f"{resource_type}/{name.lower()}")

    def check_role(self, role_arn: str, denied: bool = False) -> None:
        """Raise SageMaker's "Could not assume role" unless the role exists in this account
        and trusts sagemaker.amazonaws.com (``denied`` forces the refusal: the role fault)."""
        from botocore.exceptions import ClientError

        if denied:
            raise cannot_assume(role_arn)
        parts = role_arn.split(":", 5)
        if len(parts) < 6 or parts[4] != self.account_id:
            raise cannot_assume(role_arn)
        name = parts[5].rsplit("/", 1)[-1]
        try:
            role = self.client("iam").get_role(RoleName=name)["Role"]
        except ClientError:
            raise cannot_assume(role_arn) from None
        if role.get("Arn") != role_arn and not role_arn.endswith("/" + name):
            raise cannot_assume(role_arn)
        if not trusts_sagemaker(role.get("AssumeRolePolicyDocument")):
            raise cannot_assume(role_arn)


def _as_list(value: Any) -> list:
    """A policy field that may be one item or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def trusts_sagemaker(document: Any) -> bool:
    """Whether a trust policy lets sagemaker.amazonaws.com call sts:AssumeRole."""
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return False
    if not isinstance(document, dict):
        return False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action"))
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict):
            if SAGEMAKER_PRINCIPAL in _as_list(principal.get("Service")):
                return True
            if "*" in _as_list(principal.get("AWS")):
                return True
    return False


def now() -> float:
    """The time as the JSON protocol sends it (epoch seconds)."""
    return round(time.time(), 3)
