"""Shared look-ups for the checks: the lab's ACK CRDs and custom resources, and what went wrong.

Known failures show up as text in several places: a custom resource's ``ACK.Terminal`` or
``ACK.Recoverable`` condition, a SageMaker resource's ``FailureReason``, a step's recorded error.
:func:`failure_texts` gathers them once per doctor run and :func:`classify` names the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from wizard.doctor.context import ACK_GROUP, DoctorContext

#: the kinds the lab's pipeline uses, when the CRD selection step has not recorded its own
LAB_KINDS = ("ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model",
             "EndpointConfig", "Endpoint", "TransformJob")

DOC_QUOTAS = "https://docs.aws.amazon.com/sagemaker/latest/dg/regions-quotas.html"
DOC_EXEC_ROLE = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
DOC_IRSA = "https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html"
DOC_S3_403 = "https://repost.aws/knowledge-center/s3-troubleshoot-403"
DOC_ACK_COND = "https://aws-controllers-k8s.github.io/community/docs/user-docs/troubleshooting/"


@dataclass(frozen=True)
class Problem:
    """A known failure recognised in an error text."""

    key: str
    title: str
    remediation: str
    doc_url: str


_KNOWN = [
    (re.compile(r"ResourceLimitExceeded", re.I), Problem(
        "limit", "an account quota (ResourceLimitExceeded)",
        "Ask for a higher SageMaker quota for that instance type in Service Quotas (AWS console "
        "> Service Quotas > Amazon SageMaker, e.g. '<type> for training job usage' or 'for "
        "endpoint usage'), or pick an instance type you have quota for, then run the pipeline "
        "again.", DOC_QUOTAS)),
    (re.compile(r"could not assume role|not authorized to perform:? sts:AssumeRole\b", re.I),
     Problem("exec-role", "SageMaker could not assume the execution role",
             "Pass the SageMaker execution role's ARN (e.g. arn:aws:iam::<account>:role/"
             "SageMakerExecutionRole), not the pipeline's pod role, and make sure its trust "
             "policy allows sagemaker.amazonaws.com to call sts:AssumeRole.", DOC_EXEC_ROLE)),
    (re.compile(r"AssumeRoleWithWebIdentity", re.I), Problem(
        "web-identity", "the pod could not assume its IAM role (AssumeRoleWithWebIdentity)",
        "Fix the pod role's trust policy: its condition '<oidc>:sub' must be exactly "
        "system:serviceaccount:<namespace>:<service account> of the pipeline's pods, and "
        "'<oidc>:aud' sts.amazonaws.com.", DOC_IRSA)),
    (re.compile(r"InvokeEndpoint", re.I), Problem(
        "invoke", "the caller may not call sagemaker:InvokeEndpoint",
        "Allow sagemaker:InvokeEndpoint on the endpoint for the identity that tests it (attach "
        "a policy with that action, or AmazonSageMakerFullAccess for the lab).",
        "https://docs.aws.amazon.com/sagemaker/latest/dg/api-permissions-reference.html")),
    # after InvokeEndpoint (its own problem) and before the generic AccessDenied (S3's)
    (re.compile(r"not authorized to perform:? sagemaker:", re.I), Problem(
        "sagemaker-denied", "the caller may not manage SageMaker resources",
        "Give the IAM role of the ACK SageMaker controller (the eks.amazonaws.com/role-arn "
        "annotation of its service account in ack-system) the SageMaker permissions it needs: "
        "aws iam attach-role-policy --role-name <controller role> --policy-arn "
        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess. ACK retries, so the resource syncs "
        "once the permission is there.",
        "https://aws-controllers-k8s.github.io/community/docs/user-docs/irsa/")),
    (re.compile(r"AccessDenied|Access Denied|403 Forbidden", re.I), Problem(
        "s3-denied", "access to S3 was denied",
        "Give the execution role (and your own identity) s3:GetObject, s3:PutObject and "
        "s3:ListBucket on the lab bucket, and check the bucket policy does not deny them.",
        DOC_S3_403)),
]


def classify(text: str) -> Problem | None:
    """The known problem ``text`` describes, or None."""
    for pattern, problem in _KNOWN:
        if pattern.search(text or ""):
            return problem
    return None


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time as an aware datetime (None when missing or unreadable)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def age_s(value) -> float | None:
    """Seconds since an RFC 3339 time or aware datetime."""
    when = value if isinstance(value, datetime) else parse_time(value)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - when).total_seconds()


def lab_kinds(ctx: DoctorContext) -> list[str]:
    """The ACK kinds the lab uses (the CRD selection step's choice, else the lab's default)."""
    crds = ctx.outputs("crd-selection").get("crds") or []
    kinds = [c.get("kind") for c in crds if isinstance(c, dict) and c.get("kind")]
    return kinds or list(LAB_KINDS)


def ack_crds(ctx: DoctorContext) -> dict[str, dict]:
    """Installed CRDs of ACK's SageMaker group by kind: {kind: {plural, version, name}}."""
    if "ack_crds" not in ctx.cache:
        ctx.require_kube()
        from kubernetes import client

        api = client.ApiextensionsV1Api(ctx.clients.kube)
        found = {}
        for crd in api.list_custom_resource_definition(_request_timeout=6).items:
            if crd.spec.group != ACK_GROUP:
                continue
            served = [v.name for v in crd.spec.versions if v.served] or ["v1alpha1"]
            found[crd.spec.names.kind] = {"plural": crd.spec.names.plural, "version": served[0],
                                          "name": crd.metadata.name}
        ctx.cache["ack_crds"] = found
    return ctx.cache["ack_crds"]


def custom_resources(ctx: DoctorContext) -> list[dict]:
    """The lab's ACK custom resources in its namespace (all namespaces when it is unknown)."""
    if "ack_objects" not in ctx.cache:
        api = ctx.custom()
        objects = []
        for kind, info in sorted(ack_crds(ctx).items()):
            if ctx.namespace:
                answer = api.list_namespaced_custom_object(
                    ACK_GROUP, info["version"], ctx.namespace, info["plural"], _request_timeout=6)
            else:
                answer = api.list_cluster_custom_object(ACK_GROUP, info["version"],
                                                        info["plural"], _request_timeout=6)
            for obj in answer.get("items", []):
                obj.setdefault("kind", kind)
                objects.append(obj)
        ctx.cache["ack_objects"] = objects
    return ctx.cache["ack_objects"]


def condition(obj: dict, ctype: str) -> dict | None:
    """The status condition ``ctype`` of a custom resource, when it is True."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype and str(cond.get("status")) == "True":
            return cond
    return None


def failure_reason(obj: dict) -> str | None:
    """A custom resource's ``status.failureReason`` (any key ending that way)."""
    for key, value in (obj.get("status") or {}).items():
        if key.lower().endswith("failurereason") and value:
            return str(value)
    return None


def ref(obj: dict) -> str:
    """``Kind/name`` of a custom resource."""
    return f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"


def failure_texts(ctx: DoctorContext) -> list[tuple[str, str]]:
    """(where, text) of every failure message the lab has on record or in the cluster."""
    if "failures" in ctx.cache:
        return ctx.cache["failures"]
    texts: list[tuple[str, str]] = []
    for step_id, error in ctx.step_errors():
        texts.append((f"step '{step_id}'", str(error.get("message", ""))))
    if ctx.kube_probe()[0]:
        try:
            for obj in custom_resources(ctx):
                for ctype in ("ACK.Terminal", "ACK.Recoverable"):
                    cond = condition(obj, ctype)
                    if cond and cond.get("message"):
                        texts.append((f"{ref(obj)} ({ctype})", str(cond["message"])))
                reason = failure_reason(obj)
                if reason:
                    texts.append((f"{ref(obj)} failureReason", reason))
        except Exception:  # noqa: BLE001 - the conditions check reports listing errors itself
            pass
    ctx.cache["failures"] = texts
    return texts
