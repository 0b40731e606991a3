"""Preflight: where the wizard runs and what the lab's environment already has.

The credentials step reports these findings before it changes anything, each missing piece with
the command that fixes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from wizard.aws.errors import explain as explain_aws
from wizard.protocol import Context

SAGEMAKER_NOTEBOOK_METADATA = Path("/opt/ml/metadata/resource-metadata.json")
IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
ACK_NAMESPACE = "ack-system"
ACK_DEPLOYMENT = "ack-sagemaker-controller"


def where_am_i(ctx: Context) -> str:
    """``sandbox``, ``sagemaker-notebook``, ``kubeflow-notebook`` (in-cluster) or ``laptop``."""
    if ctx.target.is_sandbox:
        return "sandbox"
    if SAGEMAKER_NOTEBOOK_METADATA.exists():
        return "sagemaker-notebook"
    if os.environ.get("NB_PREFIX") or IN_CLUSTER_NAMESPACE.exists():
        return "kubeflow-notebook"
    return "laptop"


def in_cluster_namespace() -> str | None:
    """The namespace of the pod we run in (a Kubeflow notebook server), if any."""
    try:
        return IN_CLUSTER_NAMESPACE.read_text().strip() or None
    except OSError:
        return None


@dataclass
class Identity:
    """Who the AWS credentials belong to."""

    account: str
    arn: str

    @property
    def partition(self) -> str:
        """``aws``, ``aws-cn`` or ``aws-us-gov``."""
        return self.arn.split(":")[1]

    @property
    def iam_entity(self) -> tuple[str, str] | None:
        """(``user`` | ``role``, name) of the IAM entity behind the credentials, when there is one."""
        resource = self.arn.split(":", 5)[-1]
        if resource.startswith("user/"):
            return "user", resource.rsplit("/", 1)[-1]
        if resource.startswith("assumed-role/"):
            return "role", resource.split("/")[1]
        if resource.startswith("role/"):
            return "role", resource.rsplit("/", 1)[-1]
        return None


def identity(ctx: Context) -> Identity:
    """The caller's identity from STS; a clear error when there are no valid credentials."""
    try:
        answer = ctx.clients.aws("sts").get_caller_identity()
    except Exception as exc:  # noqa: BLE001 - translated into what to do
        raise explain_aws(exc, "asking STS who you are") from None
    return Identity(account=answer["Account"], arn=answer["Arn"])


@dataclass
class Finding:
    """One preflight observation: ok or not, what was seen, and the command that fixes it."""

    what: str
    ok: bool
    fix: str = ""


@dataclass
class AckStatus:
    """What the cluster has of the ACK SageMaker controller."""

    findings: list[Finding] = field(default_factory=list)
    #: the controller's service account (the Helm chart's default when there is no controller)
    service_account: str = "ack-sagemaker-controller"
    #: the IAM role that account is annotated with (IRSA), None when it has none
    role_arn: str | None = None


def _find_controller(ctx: Context):
    """The controller's Deployment in ack-system, or None.

    Looked up by the name the sandbox and a release named after it use, else as any Deployment
    there named ``*sagemaker*``: the Helm chart names it ``<release>-sagemaker-chart``.
    """
    from wizard.k8s import api_exception

    apps = ctx.clients.apps_v1()
    try:
        return apps.read_namespaced_deployment(ACK_DEPLOYMENT, ACK_NAMESPACE)
    except api_exception() as exc:
        if exc.status != 404:
            raise
    found = [d for d in apps.list_namespaced_deployment(ACK_NAMESPACE).items
             if "sagemaker" in d.metadata.name]
    return found[0] if found else None


def ack_controller(ctx: Context) -> AckStatus:
    """Check the ACK SageMaker controller: deployment running, CRDs installed, IRSA on its account."""
    from wizard.k8s import ACK_GROUP, IRSA_ANNOTATION, api_exception

    status = AckStatus()
    ApiException = api_exception()
    deployment = _find_controller(ctx)
    if deployment is not None:
        name = deployment.metadata.name
        ready = (deployment.status.ready_replicas or 0) if deployment.status else 0
        status.findings.append(Finding(
            f"ACK SageMaker controller {name}: {ready} ready replica(s)", ready > 0,
            f"kubectl -n {ACK_NAMESPACE} rollout status deployment/{name}"))
        status.service_account = deployment.spec.template.spec.service_account_name or "default"
    else:
        status.findings.append(Finding(
            "ACK SageMaker controller: not installed", False,
            "helm install -n ack-system ack-sagemaker-controller "
            "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart (see the ACK install guide)"))
    account_name = status.service_account
    crds = ctx.clients.apiextensions_v1().list_custom_resource_definition()
    kinds = {c.spec.names.kind for c in crds.items if c.spec.group == ACK_GROUP}
    needed = {"ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model",
              "EndpointConfig", "Endpoint", "TransformJob"}
    missing = sorted(needed - kinds)
    status.findings.append(Finding(
        f"ACK SageMaker CRDs: {len(kinds)} installed" + (f", missing {', '.join(missing)}" if missing else ""),
        not missing, "install the controller's chart, which installs its CRDs"))
    try:
        account = ctx.clients.core_v1().read_namespaced_service_account(account_name, ACK_NAMESPACE)
        role = (account.metadata.annotations or {}).get(IRSA_ANNOTATION)
        status.role_arn = role or None
        status.findings.append(Finding(
            f"ACK controller's service account IAM role: {role or 'none'}", bool(role),
            f"kubectl annotate -n {ACK_NAMESPACE} serviceaccount {account_name} "
            f"{IRSA_ANNOTATION}=<role-arn>"))
    except ApiException as exc:
        if exc.status != 404:
            raise
        status.findings.append(Finding(f"ACK controller's service account {account_name}: missing",
                                       False, "install the controller's chart"))
    return status
