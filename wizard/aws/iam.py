"""IAM for the lab: trust policies, permission documents, and get-or-create of roles and policies.

Everything created is tagged with the lab's lineage and recorded in the ledger as it is made; a
role that exists is reused, and a wrong one is repaired only after the user confirms (or
reported with the command that repairs it).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Callable
from urllib.parse import unquote

from wizard.protocol import Command, Context, Reporter, Resource, cmd

SAGEMAKER_FULL_NAME = "AmazonSageMakerFullAccess"
S3_FULL_NAME = "AmazonS3FullAccess"
#: the commercial partition's ARNs; :func:`managed_policy` gives them for any partition
SAGEMAKER_FULL = f"arn:aws:iam::aws:policy/{SAGEMAKER_FULL_NAME}"
S3_FULL = f"arn:aws:iam::aws:policy/{S3_FULL_NAME}"
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


def managed_policy(name: str, partition: str = "aws") -> str:
    """The ARN of an AWS managed policy in a partition (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    return f"arn:{partition}:iam::aws:policy/{name}"


# -- the commands of what this module does (the same builders serve the run and --explain) -----
def tag_args(tags: dict) -> list[str]:
    """``--tags`` values in the aws CLI's shorthand."""
    return [f"Key={k},Value={v}" for k, v in tags.items()]


def create_role_command(name: str, trust: dict, tags: dict, note: str = "") -> Command:
    """``aws iam create-role`` with its trust policy and tags."""
    return cmd("aws", "iam", "create-role", "--role-name", name, "--assume-role-policy-document",
               json.dumps(trust), "--tags", *tag_args(tags), note=note)


def update_trust_command(name: str, trust: dict, note: str = "") -> Command:
    """``aws iam update-assume-role-policy``: replace a role's trust policy."""
    return cmd("aws", "iam", "update-assume-role-policy", "--role-name", name,
               "--policy-document", json.dumps(trust), note=note)


def attach_role_policy_command(name: str, policy_arn: str, note: str = "") -> Command:
    """``aws iam attach-role-policy``."""
    return cmd("aws", "iam", "attach-role-policy", "--role-name", name, "--policy-arn",
               policy_arn, note=note)


def put_role_policy_command(name: str, policy_name: str, document: dict, note: str = "") -> Command:
    """``aws iam put-role-policy``: an inline policy of a role."""
    return cmd("aws", "iam", "put-role-policy", "--role-name", name, "--policy-name", policy_name,
               "--policy-document", json.dumps(document), note=note)


def simulate_command(source_arn, actions: list[str], note: str = "") -> Command:
    """``aws iam simulate-principal-policy``: what IAM decides for an identity's calls."""
    return cmd("aws", "iam", "simulate-principal-policy", "--policy-source-arn", source_arn,
               "--action-names", *actions, "--query",
               "EvaluationResults[].[EvalActionName,EvalDecision]", "--output", "text", note=note)


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


def irsa_trust_problem(document, account: str, oidc_issuer: str, namespace: str,
                       service_account: str, partition: str = "aws") -> str | None:
    """What keeps a trust policy from letting exactly ``NS/SA`` in through the cluster's OIDC
    provider, or None when it does.

    Checked as IAM evaluates a web-identity call: an Allow statement for
    ``sts:AssumeRoleWithWebIdentity`` whose federated principal is the cluster's provider, with
    ``<issuer>:aud`` = ``sts.amazonaws.com`` and ``<issuer>:sub`` = the service account (a
    ``StringLike`` pattern counts when it matches).
    """
    host = oidc_issuer.removeprefix("https://")
    provider = f"arn:{partition}:iam::{account}:oidc-provider/{host}"
    wanted_sub = f"system:serviceaccount:{namespace}:{service_account}"
    web_identity = []
    for statement in _listify(as_doc(document).get("Statement", [])):
        actions = [str(a) for a in _listify(statement.get("Action", []))]
        if statement.get("Effect") == "Allow" and any(
                fnmatch.fnmatchcase("sts:assumerolewithwebidentity", a.lower()) for a in actions):
            web_identity.append(statement)
    if not web_identity:
        return "does not allow sts:AssumeRoleWithWebIdentity"
    federated = [s for s in web_identity if provider in _listify(
        (s.get("Principal") or {}).get("Federated", []) if isinstance(s.get("Principal"), dict) else [])]
    if not federated:
        named = sorted({str(f) for s in web_identity if isinstance(s.get("Principal"), dict)
                        for f in _listify(s["Principal"].get("Federated", []))})
        return (f"trusts {', '.join(named) or 'no federated principal'}, not the cluster's OIDC "
                f"provider {provider}")
    seen_subs: list[str] = []
    for statement in federated:
        condition = statement.get("Condition") or {}
        equals = condition.get("StringEquals") or {}
        like = condition.get("StringLike") or {}
        auds = _listify(equals.get(f"{host}:aud", [])) + _listify(like.get(f"{host}:aud", []))
        subs_eq = [str(v) for v in _listify(equals.get(f"{host}:sub", []))]
        subs_like = [str(v) for v in _listify(like.get(f"{host}:sub", []))]
        seen_subs += subs_eq + subs_like
        aud_ok = any(fnmatch.fnmatchcase("sts.amazonaws.com", str(a)) for a in auds)
        sub_ok = wanted_sub in subs_eq or any(fnmatch.fnmatchcase(wanted_sub, p) for p in subs_like)
        if aud_ok and sub_ok:
            return None
        if sub_ok and not aud_ok:
            return f"does not require {host}:aud = sts.amazonaws.com"
    if not seen_subs:
        return f"has no {host}:sub condition (it must name {wanted_sub})"
    return f"allows {', '.join(seen_subs)}, not {wanted_sub}"


def ensure_role(ctx: Context, reporter: Reporter, *, name: str, trust: dict, description: str,
                managed: list[str], inline: dict[str, dict], step: str,
                trust_problem: Callable[[dict], str | None] | None = None) -> dict:
    """Get or create role ``name`` with this trust and these policies; return the role.

    An existing role whose trust policy is wrong (``trust_problem`` says how; by default any
    difference from ``trust``) gets ``trust`` only after the user confirms (see
    :mod:`wizard.repairs`); refused, it is reported with the command that fixes it.
    """
    from wizard.errors import StepError
    from wizard.repairs import HOW_TO_ALLOW, confirm_repair

    iam = ctx.clients.aws("iam")
    trust_json = json.dumps(trust)
    try:
        role = iam.get_role(RoleName=name)["Role"]
        reporter.log(f"Role {name} exists; reusing it.")
    except iam.exceptions.NoSuchEntityException:
        reporter.command(create_role_command(name, trust, ctx.ledger.tags()))
        with ctx.ledger.intent(Resource(kind="iam-role", name=name, step=step)) as made:
            role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_json,
                                   Description=description, Tags=tag_list(ctx.ledger.tags()))["Role"]
            made.arn = role["Arn"]
        reporter.log(f"Created role {name}.", "success")
    else:
        current = as_doc(role["AssumeRolePolicyDocument"])
        problem = trust_problem(current) if trust_problem else (
            None if current == trust else "differs from the one the lab needs")
        if problem:
            fix = update_trust_command(name, trust)
            reporter.log(f"The trust policy of the existing role {name} {problem}.", "warning")
            if not confirm_repair(ctx, f"The trust policy of role {name} {problem}. Replace it with "
                                  "the one the lab needs?"):
                raise StepError(f"The role {name} exists but its trust policy {problem}.",
                                remediation=HOW_TO_ALLOW + fix.shell())
            reporter.command(fix)
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust_json)
            reporter.log(f"Repaired the trust policy of {name}.", "warning")
    attached = {p["PolicyArn"] for p in
                iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    for policy in managed:
        if policy not in attached:
            reporter.command(attach_role_policy_command(name, policy))
            iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    existing_inline = set(iam.list_role_policies(RoleName=name)["PolicyNames"])
    for policy_name, document in inline.items():
        if policy_name in existing_inline and as_doc(
                iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]) == document:
            continue
        reporter.command(put_role_policy_command(name, policy_name, document))
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    return role
