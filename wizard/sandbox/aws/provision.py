"""Provision the lab's AWS account in the sandbox, as the workshop's account arrives set up.

Idempotent: every object is looked up first and created only when missing, so running it at
each daemon start is safe and cheap. It makes, through real boto3 calls on the sandbox endpoint:

* the EKS cluster ``kf-sm-workshop`` (with eksctl-style service and node instance roles), its
  OIDC issuer (``https://oidc.eks.<region>.amazonaws.com/id/<32 hex>``, the shape real
  clusters have) and the matching IAM OIDC provider, as ``eksctl utils
  associate-iam-oidc-provider`` creates it;
* the lab bucket, with the LocationConstraint its region needs;
* ``SageMakerExecutionRole``, trusting sagemaker.amazonaws.com, with AmazonSageMakerFullAccess;
* an IRSA role for the ACK SageMaker controller's service account;
* the lab's asset, ``s3://ee-assets-prod-eu-west-1/.../lab1/mnist.pkl.gz`` (the URI the lab text
  copies MNIST from), holding the offline stand-in digits, so the lab's own ``aws s3 cp`` works;
* the learner's IAM user ``workshop-learner``, with the managed policies a workshop participant
  gets, and an access key for it: the credentials ``sandbox.json`` and ``labwiz sandbox env``
  hand out, so ``aws sts get-caller-identity`` names a user that exists in IAM.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from . import internal_client

log = logging.getLogger(__name__)

CLUSTER_NAME = "kf-sm-workshop"
K8S_VERSION = "1.29"
EXECUTION_ROLE = "SageMakerExecutionRole"
ACK_NAMESPACE = "ack-system"
ACK_SERVICE_ACCOUNT = "ack-sagemaker-controller"
ACK_ROLE = "ack-sagemaker-controller"
SAGEMAKER_POLICY = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
LEARNER_USER = "workshop-learner"
#: what a workshop participant's user gets: IAM, S3, SageMaker, logs to read, and EKS read
LEARNER_POLICIES = [
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess",
]
LEARNER_EKS_POLICY = "workshop-eks-read"
LEARNER_EKS_DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "ReadTheLabCluster", "Effect": "Allow",
    "Action": ["eks:DescribeCluster", "eks:ListClusters", "eks:DescribeNodegroup",
               "eks:ListNodegroups", "eks:AccessKubernetesApi"],
    "Resource": "*"}]})
# the root CA thumbprint eksctl registered for EKS OIDC issuers
OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


@dataclass
class LabAccount:
    """What provisioning made; recorded in ``sandbox.json``."""

    account_id: str
    region: str
    cluster_name: str
    cluster_arn: str
    oidc_issuer: str
    oidc_provider_arn: str
    bucket: str
    execution_role_arn: str
    ack_role_arn: str
    node_role_arn: str
    # the learner's user and key; defaults let a record from before they existed load (it is
    # then found incomplete and provisioning fills them in)
    learner_user_arn: str = ""
    learner_access_key_id: str = ""
    learner_secret_access_key: str = field(default="", repr=False)  # never in a log line

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready copy (with the learner's secret: only for files kept 0600)."""
        return asdict(self)

    def credentials(self) -> dict[str, str]:
        """The learner's access key as ``sandbox.json`` carries it."""
        return {"access_key_id": self.learner_access_key_id,
                "secret_access_key": self.learner_secret_access_key}


def _trust(principal: dict, action: str = "sts:AssumeRole", condition: dict | None = None) -> str:
    """A trust policy document letting ``principal`` take a role through ``action``."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _role(iam: Any, name: str, trust: str, policies: list[str], description: str,
          prefix_match: bool = False) -> str:
    """Get or create role ``name`` (or the first role whose name starts with it) with policies."""
    arn = None
    if prefix_match:
        for page in iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                if role["RoleName"].startswith(name):
                    arn, name = role["Arn"], role["RoleName"]
                    break
    else:
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            pass
    if arn is None:
        if prefix_match:  # eksctl appends a random suffix to the names it makes
            name = f"{name}{secrets.token_hex(6).upper()}"
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust,
                              Description=description)["Role"]["Arn"]
    attached = {p["PolicyArn"] for p in
                iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    for policy in policies:
        if policy not in attached:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


def _cluster(server: Any, eks: Any, iam: Any, region: str, account_id: str,
             kube_url: str | None) -> tuple[str, str, str]:
    """Get or create the EKS cluster; returns (cluster ARN, OIDC issuer, node role ARN)."""
    service_role = _role(
        iam, f"eksctl-{CLUSTER_NAME}-cluster-ServiceRole-",
        _trust({"Service": "eks.amazonaws.com"}),
        ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
        "EKS cluster service role (eksctl)", prefix_match=True,
    )
    node_role = _role(
        iam, f"eksctl-{CLUSTER_NAME}-nodegroup-ng-NodeInstanceRole-",
        _trust({"Service": "ec2.amazonaws.com"}),
        ["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
         "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
         "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"],
        "EKS node instance role (eksctl)", prefix_match=True,
    )
    try:
        eks.describe_cluster(name=CLUSTER_NAME)
    except eks.exceptions.ResourceNotFoundException:
        eks.create_cluster(
            name=CLUSTER_NAME, version=K8S_VERSION, roleArn=service_role,
            resourcesVpcConfig={"subnetIds": [], "endpointPublicAccess": True},
            tags={"alpha.eksctl.io/cluster-name": CLUSTER_NAME},
        )
        # no EKS node group: moto builds a whole EC2 region for one (1.7 s); the node role
        # above is what the lab's scripts look for
    # moto draws a short random issuer id and a made-up endpoint; give the cluster the shape a
    # real one has and the address its API really answers on in this sandbox
    from moto.eks.models import eks_backends

    cluster = eks_backends[account_id][region].clusters[CLUSTER_NAME]
    issuer = cluster.identity["oidc"]["issuer"]
    if not issuer.rsplit("/", 1)[-1].isupper() or len(issuer.rsplit("/", 1)[-1]) != 32:
        issuer = f"https://oidc.eks.{region}.amazonaws.com/id/{secrets.token_hex(16).upper()}"
        cluster.identity = {"oidc": {"issuer": issuer}}
    if kube_url and cluster.endpoint != kube_url:
        cluster.endpoint = kube_url
    server.mark_changed("eks")
    return cluster.arn, issuer, node_role


def _oidc_provider(iam: Any, issuer: str, account_id: str) -> str:
    """Get or create the IAM OIDC provider for ``issuer``."""
    host_path = issuer.removeprefix("https://")
    arn = f"arn:aws:iam::{account_id}:oidc-provider/{host_path}"
    known = {p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
    if arn not in known:
        arn = iam.create_open_id_connect_provider(
            Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[OIDC_THUMBPRINT],
            Tags=[{"Key": "alpha.eksctl.io/cluster-name", "Value": CLUSTER_NAME}],
        )["OpenIDConnectProviderArn"]
    return arn


def _learner(iam: Any, known_key_id: str = "", known_secret: str = "") -> tuple[str, str, str]:
    """Get or create the learner's user, its policies and an access key.

    Returns (user ARN, access key id, secret). A key whose secret we hold (``known_*``) and
    that IAM still has is kept; keys we cannot hand out (their secret is lost) are deleted
    first, as IAM allows two keys per user.
    """
    try:
        arn = iam.get_user(UserName=LEARNER_USER)["User"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_user(UserName=LEARNER_USER, Tags=[
            {"Key": "purpose", "Value": "kubeflow-sagemaker-workshop participant"}])["User"]["Arn"]
    attached = {p["PolicyArn"] for p in
                iam.list_attached_user_policies(UserName=LEARNER_USER)["AttachedPolicies"]}
    for policy in LEARNER_POLICIES:
        if policy not in attached:
            iam.attach_user_policy(UserName=LEARNER_USER, PolicyArn=policy)
    if LEARNER_EKS_POLICY not in iam.list_user_policies(UserName=LEARNER_USER)["PolicyNames"]:
        iam.put_user_policy(UserName=LEARNER_USER, PolicyName=LEARNER_EKS_POLICY,
                            PolicyDocument=LEARNER_EKS_DOCUMENT)
    keys = iam.list_access_keys(UserName=LEARNER_USER)["AccessKeyMetadata"]
    for key in keys:
        if key["AccessKeyId"] == known_key_id and known_secret and key["Status"] == "Active":
            return arn, known_key_id, known_secret
    for key in keys:
        iam.delete_access_key(UserName=LEARNER_USER, AccessKeyId=key["AccessKeyId"])
    key = iam.create_access_key(UserName=LEARNER_USER)["AccessKey"]
    log.info("made access key %s for IAM user %s", key["AccessKeyId"], LEARNER_USER)
    return arn, key["AccessKeyId"], key["SecretAccessKey"]


def _bucket(s3: Any, region: str, account_id: str) -> str:
    """Get or create the lab bucket (its name carries "sagemaker", as the policy expects)."""
    name = f"sagemaker-{CLUSTER_NAME}-{region}-{account_id}"
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
    return name


def _asset_location() -> tuple[str, str, str]:
    """(bucket, key, region) of the lab's MNIST asset, from the URI the wizard fetches."""
    from wizard.s3data import LAB_ASSET_URI

    bucket, key = LAB_ASSET_URI[len("s3://"):].split("/", 1)
    return bucket, key, bucket.rsplit("-prod-", 1)[-1]


def _lab_asset(url: str) -> None:
    """Put the offline stand-in at the lab's asset URI (its bucket in its own region)."""
    from wizard.sandbox.mnist import cached_mnist_pkl_gz

    bucket, key, region = _asset_location()
    s3 = internal_client("s3", url, region)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return
    except s3.exceptions.ClientError:
        pass
    s3.upload_file(str(cached_mnist_pkl_gz()), bucket, key)


def _asset_there(account_id: str) -> bool:
    """Whether moto holds the lab's asset (checked in-process)."""
    from moto.s3.models import s3_backends

    bucket, key, _ = _asset_location()
    found = s3_backends[account_id]["aws"].buckets.get(bucket)
    return found is not None and key in found.keys


RECORD = "provisioned.json"


def _still_there(acct: LabAccount) -> bool:
    """Whether every object of a recorded provisioning is still in moto (checked in-process)."""
    from moto.eks.models import eks_backends
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    iam = iam_backends[acct.account_id]["aws"]
    roles = {role.arn for role in iam.roles.values()}
    cluster = eks_backends[acct.account_id][acct.region].clusters.get(acct.cluster_name)
    learner = iam.get_user_from_access_key_id(acct.learner_access_key_id)
    key_ok = learner is not None and learner.arn == acct.learner_user_arn and any(
        key.access_key_id == acct.learner_access_key_id
        and key.secret_access_key == acct.learner_secret_access_key and key.status == "Active"
        for key in iam.list_access_keys(learner.name))
    return (
        key_ok
        and {acct.execution_role_arn, acct.ack_role_arn, acct.node_role_arn} <= roles
        and acct.oidc_provider_arn in iam.open_id_providers
        and acct.bucket in s3_backends[acct.account_id]["aws"].buckets
        and _asset_there(acct.account_id)
        and cluster is not None
        and cluster.identity["oidc"]["issuer"] == acct.oidc_issuer
    )


def provision(server: Any, region: str, kube_url: str | None = None) -> LabAccount:
    """Make (or find) the lab account's AWS objects on ``server`` (an :class:`AwsServer`).

    The result is recorded in ``<aws data dir>/provisioned.json``; on a restart whose record
    still matches moto's objects (checked in-process, in milliseconds) only the cluster's
    endpoint is brought up to date. Anything missing is made again through boto3.
    """
    record = server.data_dir / RECORD
    try:
        acct = LabAccount(**json.loads(record.read_text()))
    except (OSError, ValueError, TypeError):
        acct = None
    if acct is not None and acct.region == region and _still_there(acct):
        _set_endpoint(server, acct, kube_url)
        server.set_lab_bucket(acct.bucket)
        return acct
    acct = _provision(server, region, kube_url, previous=acct)
    # the record holds the learner's secret: owner-only from the moment it exists
    tmp = record.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(acct.to_dict(), indent=2))
    os.chmod(tmp, 0o600)  # a leftover tmp file from an older run keeps its mode otherwise
    tmp.replace(record)
    return acct


def _set_endpoint(server: Any, acct: LabAccount, kube_url: str | None) -> None:
    """Point the EKS cluster's endpoint at the address its API answers on this run."""
    from moto.eks.models import eks_backends

    cluster = eks_backends[acct.account_id][acct.region].clusters[acct.cluster_name]
    if kube_url and cluster.endpoint != kube_url:
        cluster.endpoint = kube_url
        server.mark_changed("eks")


def _provision(server: Any, region: str, kube_url: str | None,
               previous: LabAccount | None = None) -> LabAccount:
    """The full, idempotent path through boto3 (``previous``: the last record, if any)."""
    url = server.url
    sts, iam = internal_client("sts", url, region), internal_client("iam", url, region)
    eks, s3 = internal_client("eks", url, region), internal_client("s3", url, region)
    account_id = sts.get_caller_identity()["Account"]
    cluster_arn, issuer, node_role = _cluster(server, eks, iam, region, account_id, kube_url)
    provider_arn = _oidc_provider(iam, issuer, account_id)
    bucket = _bucket(s3, region, account_id)
    _lab_asset(url)
    execution_role = _role(
        iam, EXECUTION_ROLE, _trust({"Service": "sagemaker.amazonaws.com"}), [SAGEMAKER_POLICY],
        "SageMaker execution role of the lab account",
    )
    oidc = issuer.removeprefix("https://")
    ack_role = _role(
        iam, ACK_ROLE,
        _trust({"Federated": provider_arn}, "sts:AssumeRoleWithWebIdentity", {
            "StringEquals": {
                f"{oidc}:aud": "sts.amazonaws.com",
                f"{oidc}:sub": f"system:serviceaccount:{ACK_NAMESPACE}:{ACK_SERVICE_ACCOUNT}",
            }
        }),
        [SAGEMAKER_POLICY], "IRSA role of the ACK SageMaker controller",
    )
    user_arn, key_id, secret = _learner(
        iam, previous.learner_access_key_id if previous else "",
        previous.learner_secret_access_key if previous else "")
    server.set_lab_bucket(bucket)
    return LabAccount(
        account_id=account_id, region=region, cluster_name=CLUSTER_NAME,
        cluster_arn=cluster_arn, oidc_issuer=issuer, oidc_provider_arn=provider_arn,
        bucket=bucket, execution_role_arn=execution_role, ack_role_arn=ack_role,
        node_role_arn=node_role, learner_user_arn=user_arn, learner_access_key_id=key_id,
        learner_secret_access_key=secret,
    )
