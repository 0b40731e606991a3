"""IAM for the lab: trust policies, permission documents, and get-or-create of roles and policies.

Everything created is tagged with the lab's lineage and recorded in the ledger as it is made; a
role that exists is reused, and a wrong one is repaired only after the user confirms.
"""

from __future__ import annotations

import fnmatch
import json
from urllib.parse import unquote

from wizard.protocol import Context, Reporter, Resource, cmd

SAGEMAKER_FULL = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


def sagemaker_trust() -> dict:
    """Trust policy letting SageMaker assume a role (the execution role)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": SAGEMAKER_PRINCIPAL}, "Action": "sts:AssumeRole"}]}


def irsa_trust(account: str, oidc_issuer: str, namespace: str, service_account: str,
               partition: str = "aws") -> dict:
    """Trust policy for IRSA: the cluster's OIDC provider, for exactly one service account."""
    host = oidc_issuer.removeprefix("https://")
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:{partition}:iam::{account}:oidc-provider/{host}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{host}:aud": "sts.amazonaws.com",
            f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
        }},
    }]}


def bucket_access(bucket: str, partition: str = "aws") -> dict:
    """Read and write access to one bucket: what the execution role needs of S3."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": f"arn:{partition}:s3:::{bucket}"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                       "s3:AbortMultipartUpload"],
         "Resource": f"arn:{partition}:s3:::{bucket}/*"},
    ]}


def invoke_endpoint() -> dict:
    """Permission to call InvokeEndpoint (the lab's sagemaker-invoke policy)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"], "Resource": "*"}]}


def as_doc(document) -> dict:
    """A policy document as a dict (IAM returns it URL-encoded text or already parsed)."""
    if isinstance(document, dict):
        return document
    return json.loads(unquote(document))


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def trust_kind(document) -> str:
    """What a role's trust policy is for: ``sagemaker``, ``irsa``, ``other``."""
    doc = as_doc(document)
    kinds = set()
    for statement in _listify(doc.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal", {})
        if isinstance(principal, dict):
            if SAGEMAKER_PRINCIPAL in _listify(principal.get("Service", [])):
                kinds.add("sagemaker")
            if principal.get("Federated") and "AssumeRoleWithWebIdentity" in str(statement.get("Action")):
                kinds.add("irsa")
    if "sagemaker" in kinds:
        return "sagemaker"
    return "irsa" if "irsa" in kinds else "other"


def irsa_subjects(document) -> list[str]:
    """The ``sub`` values an IRSA trust policy allows (``system:serviceaccount:NS:SA``)."""
    subjects = []
    for statement in _listify(as_doc(document).get("Statement", [])):
        for test in ("StringEquals", "StringLike"):
            for key, value in (statement.get("Condition", {}).get(test, {}) or {}).items():
                if key.endswith(":sub"):
                    subjects.extend(_listify(value))
    return subjects


def action_allowed(documents: list, action: str) -> bool:
    """Whether any Allow statement of the documents grants ``action`` (no Deny is considered).

    A static reading, used where IAM's policy simulator is not available; it errs towards
    "not allowed", which at worst adds a redundant grant.
    """
    for document in documents:
        for statement in _listify(as_doc(document).get("Statement", [])):
            if statement.get("Effect") != "Allow" or "NotAction" in statement:
                continue
            for pattern in _listify(statement.get("Action", [])):
                if fnmatch.fnmatchcase(action.lower(), str(pattern).lower()):
                    return True
    return False


def tag_list(tags: dict) -> list[dict]:
    """IAM's tag list shape."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def ensure_role(ctx: Context, reporter: Reporter, *, name: str, trust: dict, description: str,
                managed: list[str], inline: dict[str, dict], step: str) -> dict:
    """Get or create role ``name`` with this trust and these policies; return the role."""
    iam = ctx.clients.aws("iam")
    trust_json = json.dumps(trust)
    try:
        role = iam.get_role(RoleName=name)["Role"]
        reporter.log(f"Role {name} exists; reusing it.")
    except iam.exceptions.NoSuchEntityException:
        reporter.command(cmd("aws", "iam", "create-role", "--role-name", name,
                             "--assume-role-policy-document", trust_json,
                             "--tags", *[f"Key={t['Key']},Value={t['Value']}"
                                         for t in tag_list(ctx.ledger.tags())]))
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_json,
                               Description=description, Tags=tag_list(ctx.ledger.tags()))["Role"]
        ctx.ledger.record(Resource(kind="iam-role", name=name, arn=role["Arn"], step=step))
        reporter.log(f"Created role {name}.", "success")
    else:
        if as_doc(role["AssumeRolePolicyDocument"]) != trust and ctx.ledger.find("iam-role", name):
            # our own role whose trust drifted (e.g. another namespace chosen): put it back
            reporter.command(cmd("aws", "iam", "update-assume-role-policy", "--role-name", name,
                                 "--policy-document", trust_json))
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust_json)
            reporter.log(f"Updated the trust policy of {name}.", "warning")
    attached = {p["PolicyArn"] for p in
                iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    for policy in managed:
        if policy not in attached:
            reporter.command(cmd("aws", "iam", "attach-role-policy", "--role-name", name,
                                 "--policy-arn", policy))
            iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    existing_inline = set(iam.list_role_policies(RoleName=name)["PolicyNames"])
    for policy_name, document in inline.items():
        if policy_name in existing_inline and as_doc(
                iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]) == document:
            continue
        reporter.command(cmd("aws", "iam", "put-role-policy", "--role-name", name, "--policy-name",
                             policy_name, "--policy-document", json.dumps(document)))
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    return role
