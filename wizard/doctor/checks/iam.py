"""IAM: the pipeline pods' role (IRSA trust) and the SageMaker execution role."""

from __future__ import annotations

import json
from urllib.parse import unquote

from wizard.doctor.context import (IRSA_ANNOTATION, NOT_USED, DoctorContext, aws_error_code,
                                   short_error)
from wizard.doctor.lab import DOC_EXEC_ROLE, DOC_IRSA, classify, failure_texts
from wizard.doctor.model import Skip, check, fail, ok


def _as_list(value) -> list:
    """A policy field that may hold one item or a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _document(raw) -> dict:
    """A policy document, whether boto3 gave a dict or URL-encoded JSON."""
    if isinstance(raw, str):
        return json.loads(unquote(raw))
    return raw or {}


def pod_role_arn(ctx: DoctorContext) -> str | None:
    """The pipeline pods' IAM role as the pods get it: the service account's live annotation.

    What the credentials step recorded is only a fallback for when the cluster cannot be read:
    pods assume the annotated role, whatever the state says (someone may have re-annotated the
    account since). A readable account without the annotation gives None.
    """
    if ctx.namespace and ctx.kube_probe()[0]:
        try:
            sa = ctx.core().read_namespaced_service_account(ctx.service_account, ctx.namespace,
                                                           _request_timeout=6)
            return (sa.metadata.annotations or {}).get(IRSA_ANNOTATION)
        except Exception:  # noqa: BLE001 - the annotation check reports this
            pass
    return ctx.outputs("credentials").get("pod_role_arn")


def _role(ctx: DoctorContext, arn: str) -> dict:
    """IAM's record of the role an ARN names."""
    return ctx.aws("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]


@check("pod-role-trust", "Pipeline pod role trusts the service account", area="iam",
       doc_url=DOC_IRSA, step="credentials")
def pod_role_trust(ctx: DoctorContext):
    """The IRSA role's trust policy lets exactly the pipeline's service account assume it."""
    if not ctx.pods_use_aws():
        raise Skip(NOT_USED)
    if ctx.access_mode == "secret":
        raise Skip("the pipeline uses the aws-secret, not IRSA")
    arn = pod_role_arn(ctx)
    if not arn:
        raise Skip("the pipeline's service account is not annotated with a role (see check "
                   "'irsa-annotation')")
    try:
        role = _role(ctx, arn)
    except Exception as exc:  # noqa: BLE001
        if aws_error_code(exc) == "NoSuchEntity":
            return fail(f"The pod role {arn} does not exist.",
                        "Create it (the lab's 'aws iam create-role --role-name "
                        "kfp-sagemaker-pod-role ...') or annotate the service account with an "
                        "existing role's ARN.")
        raise
    namespace, sa = ctx.namespace, ctx.service_account
    want_sub = f"system:serviceaccount:{namespace}:{sa}"
    issuer = None
    if ctx.cluster_name:
        try:
            issuer = ctx.aws("eks").describe_cluster(name=ctx.cluster_name)["cluster"][
                "identity"]["oidc"]["issuer"].removeprefix("https://")
        except Exception:  # noqa: BLE001 - without the issuer we still compare the subject
            issuer = None
    subs, problems = [], []
    for statement in _as_list(_document(role.get("AssumeRolePolicyDocument")).get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        if "sts:AssumeRoleWithWebIdentity" not in _as_list(statement.get("Action")):
            continue
        federated = _as_list((statement.get("Principal") or {}).get("Federated"))
        if issuer and not any(str(f).endswith(f"oidc-provider/{issuer}") for f in federated):
            problems.append(f"it trusts {', '.join(map(str, federated)) or 'no provider'}, not "
                            f"the cluster's OIDC provider {issuer}")
        for op, conds in (statement.get("Condition") or {}).items():
            for key, value in conds.items():
                if key.endswith(":sub"):
                    subs.extend(_as_list(value))
                if key.endswith(":aud") and "sts.amazonaws.com" not in _as_list(value):
                    problems.append(f"its audience is {value}, not sts.amazonaws.com")
    name = role["RoleName"]
    fix = (f"Edit the trust policy of {name} so that '<oidc>:sub' is exactly '{want_sub}' "
           f"(aws iam update-assume-role-policy --role-name {name} --policy-document "
           "file://trust.json); pods fail with AccessDenied on AssumeRoleWithWebIdentity until "
           "then.")
    if not subs and not problems:
        return fail(f"{name} has no AssumeRoleWithWebIdentity statement with a ':sub' condition.",
                    fix)
    if subs and not any(s == want_sub or (s.endswith("*") and want_sub.startswith(s[:-1]))
                        for s in subs):
        problems.insert(0, f"its ':sub' names {', '.join(subs)}, not {want_sub}")
    if problems:
        return fail(f"AssumeRoleWithWebIdentity will be denied for {name}: "
                    + "; ".join(problems) + ".", fix)
    return ok(f"{name} trusts {want_sub} through the cluster's OIDC provider.")


@check("execution-role", "SageMaker execution role", area="iam", doc_url=DOC_EXEC_ROLE,
       step="credentials")
def execution_role(ctx: DoctorContext):
    """The execution role is a role ARN, not the pod role, and trusts sagemaker.amazonaws.com."""
    given = ctx.fact("execution_role_arn", "credentials")
    if not given:
        raise Skip("no execution role has been given yet")
    fix_arn = ("Pass the ARN of the SageMaker execution role (IAM > Roles > "
               "SageMakerExecutionRole, 'arn:aws:iam::<account>:role/<name>').")
    if not str(given).startswith("arn:aws"):
        return fail(f"'{given}' is a role name, not an ARN; SageMaker needs the full ARN.", fix_arn)
    if ":role/" not in str(given):
        return fail(f"{given} is not an IAM role ARN.", fix_arn)
    pod_arn = pod_role_arn(ctx)
    if pod_arn and pod_arn == given:
        return fail(f"The execution role {given} is the pipeline pods' role (the IRSA role).",
                    "Use the SageMaker execution role here; the pod role only lets the pipeline "
                    "call SageMaker and does not trust sagemaker.amazonaws.com.")
    try:
        role = _role(ctx, given)
    except Exception as exc:  # noqa: BLE001
        if aws_error_code(exc) == "NoSuchEntity":
            return fail(f"The execution role {given} does not exist in this account.", fix_arn)
        return fail(f"Could not read the execution role: {short_error(exc)}.",
                    "Check that your identity may call iam:GetRole, then run the doctor again.")
    trusted = False
    for statement in _as_list(_document(role.get("AssumeRolePolicyDocument")).get("Statement")):
        services = _as_list((statement.get("Principal") or {}).get("Service"))
        if statement.get("Effect") == "Allow" and "sagemaker.amazonaws.com" in services and \
                "sts:AssumeRole" in _as_list(statement.get("Action")):
            trusted = True
    if not trusted:
        return fail(f"{role['RoleName']} does not trust sagemaker.amazonaws.com, so SageMaker "
                    "cannot assume it ('Could not assume role').",
                    f"Add a trust statement allowing Service sagemaker.amazonaws.com to call "
                    f"sts:AssumeRole on {role['RoleName']}, or use the lab's "
                    "SageMakerExecutionRole.")
    refused = [(where, text) for where, text in failure_texts(ctx)
               if (p := classify(text)) and p.key == "exec-role"]
    if refused:
        where, text = refused[0]
        return fail(f"SageMaker refused to assume {given} ({where}: {text[:200]}).",
                    "Check the role's trust policy and that it is the execution role, not the "
                    "pod role; if both are right, your account may block sts:AssumeRole for "
                    "SageMaker (an SCP or permissions boundary): ask your administrator.")
    return ok(f"{given} is a role that trusts sagemaker.amazonaws.com.")
