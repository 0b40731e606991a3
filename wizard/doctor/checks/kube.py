"""The cluster: the pipeline's service account and its AWS access, and RBAC for ACK resources."""

from __future__ import annotations

import base64
import re

from wizard.doctor.context import (IRSA_ANNOTATION, NOT_USED, SECRET_NAME, DoctorContext,
                                   aws_error_code)
from wizard.doctor.lab import DOC_IRSA, ack_crds, lab_kinds
from wizard.doctor.model import Skip, check, fail, ok, warn

DOC_KUBECONFIG = "https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html"
DOC_SECRET = ("https://www.kubeflow.org/docs/components/pipelines/legacy-v1/sdk/"
              "manipulate-resources/")
DOC_RBAC = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
_ACCESS_KEY = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")


def _api_error_status(exc: BaseException) -> int | None:
    """The HTTP status of a kubernetes ``ApiException``."""
    return getattr(exc, "status", None) if type(exc).__name__ == "ApiException" else None


@check("kube-api", "Kubernetes API reachable", area="kubernetes", doc_url=DOC_KUBECONFIG)
def kube_api(ctx: DoctorContext):
    """kubectl's API server answers with the lab's kubeconfig."""
    up, detail = ctx.kube_probe()
    if up:
        return ok(detail + ".")
    return fail(f"The Kubernetes API did not answer: {detail}.",
                "Point KUBECONFIG at the lab cluster ('aws eks update-kubeconfig --name "
                "<cluster> --region <region>'), or offline start the sandbox ('labwiz sandbox "
                "up'), then try 'kubectl get ns'.")


def _need_namespace(ctx: DoctorContext) -> str:
    """The pipeline's namespace, or Skip when it is not known yet."""
    if not ctx.namespace:
        raise Skip("the pipeline's namespace is not known yet")
    return ctx.namespace


@check("irsa-annotation", "Service account has an IAM role (IRSA)", area="kubernetes",
       doc_url=DOC_IRSA, step="credentials")
def irsa_annotation(ctx: DoctorContext):
    """The pipeline's service account carries the eks.amazonaws.com/role-arn annotation."""
    if not ctx.pods_use_aws():
        raise Skip(NOT_USED)
    if ctx.access_mode == "secret":
        raise Skip("the pipeline uses the aws-secret, not IRSA")
    namespace = _need_namespace(ctx)
    sa_name = ctx.service_account
    try:
        sa = ctx.core().read_namespaced_service_account(sa_name, namespace, _request_timeout=6)
    except Exception as exc:  # noqa: BLE001
        if _api_error_status(exc) == 404:
            return fail(f"Service account {namespace}/{sa_name} does not exist.",
                        "Check the namespace of your Kubeflow profile ('kubectl get sa -A | grep "
                        f"{sa_name}') and record the right one.")
        raise
    arn = (sa.metadata.annotations or {}).get(IRSA_ANNOTATION)
    fix = (f"kubectl annotate -n {namespace} serviceaccount {sa_name} "
           f"{IRSA_ANNOTATION}=<pod role ARN> --overwrite")
    if not arn:
        return fail(f"{namespace}/{sa_name} has no {IRSA_ANNOTATION} annotation, so its pods get "
                    "no AWS credentials.", fix)
    if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+", arn):
        return fail(f"The annotation holds '{arn}', which is not an IAM role ARN.", fix)
    try:
        ctx.aws("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])
    except Skip:
        return ok(f"{namespace}/{sa_name} is annotated with {arn} (not checked in IAM).")
    except Exception as exc:  # noqa: BLE001
        if aws_error_code(exc) == "NoSuchEntity":
            return fail(f"The annotation names {arn}, which does not exist.",
                        "Create the role or annotate with the right ARN: " + fix)
    return ok(f"{namespace}/{sa_name} is annotated with {arn}.")


def _decode(data: dict, key: str) -> str | None:
    """A Secret data value decoded (None when absent, '' when not base64 text)."""
    raw = (data or {}).get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode().strip()
    except (ValueError, UnicodeDecodeError):
        return ""


@check("aws-secret", "aws-secret in the run's namespace", area="kubernetes", doc_url=DOC_SECRET,
       step="credentials")
def aws_secret(ctx: DoctorContext):
    """When pods use an access key, aws-secret exists in their namespace and holds a live key."""
    if not ctx.pods_use_aws():
        raise Skip(NOT_USED)
    if ctx.access_mode == "irsa":
        raise Skip("the pipeline uses IRSA, not an access key secret")
    namespace = _need_namespace(ctx)
    name = ctx.outputs("credentials").get("secret_name") or SECRET_NAME
    try:
        secret = ctx.core().read_namespaced_secret(name, namespace, _request_timeout=6)
    except Exception as exc:  # noqa: BLE001
        if _api_error_status(exc) == 404:
            return fail(f"Secret {name} is missing from namespace {namespace}, where the "
                        "pipeline runs (a secret in another namespace, such as 'kubeflow', is "
                        "not visible to its pods).",
                        f"Create it in {namespace}: kubectl create secret generic {name} -n "
                        f"{namespace} --from-literal=AWS_ACCESS_KEY_ID=... "
                        "--from-literal=AWS_SECRET_ACCESS_KEY=...")
        raise
    key_id = _decode(secret.data, "AWS_ACCESS_KEY_ID")
    secret_key = _decode(secret.data, "AWS_SECRET_ACCESS_KEY")
    fix = (f"Recreate {name} in {namespace} from a current access key (aws iam create-access-key "
           "--user-name <user>); keys are AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, base64 "
           "once (kubectl create secret generic does that for you).")
    if key_id is None or secret_key is None:
        present = ", ".join(sorted((secret.data or {}).keys())) or "nothing"
        return fail(f"{namespace}/{name} lacks AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY "
                    f"(it holds {present}).", fix)
    if not _ACCESS_KEY.match(key_id or "") or len(secret_key or "") != 40:
        return fail(f"{namespace}/{name} holds values that are not an AWS access key pair "
                    f"(key id of {len(key_id or '')} characters, secret of "
                    f"{len(secret_key or '')}); often they were base64-encoded twice.", fix)
    try:
        ctx.aws("iam").get_access_key_last_used(AccessKeyId=key_id)
    except Skip:
        raise
    except Exception as exc:  # noqa: BLE001
        code = aws_error_code(exc)
        if code in ("NoSuchEntity", "InvalidClientTokenId", "AccessDenied"):
            if code == "AccessDenied":
                return warn(f"{namespace}/{name} holds a well-formed key; IAM would not say "
                            "whether it is live (AccessDenied on GetAccessKeyLastUsed).",
                            "Check it with 'aws iam list-access-keys --user-name <user>'.")
            return fail(f"The access key in {namespace}/{name} is not known to IAM (deleted or "
                        "mistyped).", fix)
        raise
    return ok(f"{namespace}/{name} holds a live access key ({key_id[:4]}…, "
              f"{len(secret_key)}-character secret).")


def _review_allowed(ctx: DoctorContext, review: dict) -> bool:
    """POST one SubjectAccessReview (what 'kubectl auth can-i --as' does); whether allowed.

    The answer is read as JSON rather than through the client's model classes: 35 reviews
    deserialised into models cost a second of CPU for one boolean each.
    """
    import json

    answer = ctx.clients.kube.call_api(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews", "POST", body=review,
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        auth_settings=["BearerToken"], _preload_content=False, _request_timeout=6)
    return bool((json.loads(answer[0].data).get("status") or {}).get("allowed"))


@check("pipeline-rbac", "Pipeline may manage SageMaker custom resources", area="kubernetes",
       doc_url=DOC_RBAC, step="credentials")
def pipeline_rbac(ctx: DoctorContext):
    """The pipeline's service account may create, watch and delete the lab's ACK resources."""
    namespace = _need_namespace(ctx)
    crds = ack_crds(ctx)
    plurals = [crds[k]["plural"] for k in lab_kinds(ctx) if k in crds]
    if not plurals:
        raise Skip("no ACK SageMaker CRDs are installed (see check 'ack-crds')")
    user = f"system:serviceaccount:{namespace}:{ctx.service_account}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}",
              "system:authenticated"]
    denied = []
    for plural in plurals:
        for verb in ("create", "get", "list", "watch", "delete"):
            review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                      "spec": {"user": user, "groups": groups, "resourceAttributes": {
                          "group": "sagemaker.services.k8s.aws", "resource": plural,
                          "verb": verb, "namespace": namespace}}}
            if not _review_allowed(ctx, review):
                denied.append(f"{verb} {plural}")
    if denied:
        shown = ", ".join(denied[:6]) + (" …" if len(denied) > 6 else "")
        return fail(f"{user} may not: {shown} (kubectl auth can-i says no).",
                    f"Bind a Role allowing create/get/list/watch/delete/patch on "
                    f"sagemaker.services.k8s.aws resources to {ctx.service_account} in "
                    f"{namespace} (kubectl create role ... ; kubectl create rolebinding ... "
                    f"--serviceaccount={namespace}:{ctx.service_account}); check with 'kubectl "
                    f"auth can-i create trainingjobs.sagemaker.services.k8s.aws --as={user} -n "
                    f"{namespace}'.")
    return ok(f"{user} may manage {len(plurals)} ACK resource types in {namespace}.")
