"""Kubernetes helpers the steps share: service accounts, RBAC for ACK, secrets, access reviews.

They go through the kubernetes client on the target's kubeconfig (or in-cluster config), so the
sandbox and a real EKS cluster are the same code path; each action reports its kubectl command.
"""

from __future__ import annotations

import base64

from wizard.errors import EnvironmentProblem, StepError
from wizard.ledger import LABEL_KEY
from wizard.protocol import Command, Context, Reporter, Resource, cmd

ACK_GROUP = "sagemaker.services.k8s.aws"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
RBAC_NAME = "labwiz-ack-sagemaker"


def api_exception():
    """The kubernetes client's ApiException class (imported late: it is heavy)."""
    from kubernetes.client.exceptions import ApiException

    return ApiException


def explain(exc: BaseException, doing: str) -> Exception:
    """A labwiz error for a Kubernetes failure while ``doing`` something."""
    status = getattr(exc, "status", None)
    if status in (401,):
        return EnvironmentProblem(f"The cluster rejected your credentials while {doing}.",
                                  remediation="Refresh the kubeconfig: 'aws eks update-kubeconfig "
                                  "--name <cluster>' (or check KUBECONFIG), then resume.")
    if status == 403:
        return StepError(f"The cluster forbade {doing}: {getattr(exc, 'reason', '')}.",
                         remediation="Your kubeconfig user needs rights on this namespace "
                         "(kubectl auth can-i ...).")
    if status is None:
        return EnvironmentProblem(f"The cluster could not be reached while {doing}: {exc}.",
                                  remediation="Check 'kubectl get ns' works (KUBECONFIG, VPN, "
                                  "'labwiz sandbox status'), then resume.")
    return StepError(f"The cluster failed while {doing}: {status} {getattr(exc, 'reason', exc)}.",
                     remediation="'labwiz doctor' checks the usual causes.")


#: seconds a guess (see ``once``) waits for the cluster's answer
GUESS_TIMEOUT = 10


def service_account(ctx: Context, namespace: str, name: str, once: bool = False):
    """The service account, or None when it does not exist. ``once``: a guess, asked without
    retries and with a short timeout (a question's default)."""
    try:
        if once:
            return ctx.clients.core_v1(once=True).read_namespaced_service_account(
                name, namespace, _request_timeout=GUESS_TIMEOUT)
        return ctx.clients.core_v1().read_namespaced_service_account(name, namespace)
    except api_exception() as exc:
        if exc.status == 404:
            return None
        raise explain(exc, f"reading service account {namespace}/{name}") from None


def annotate_command(namespace: str, name: str, key: str, value, overwrite: bool = False,
                     note: str = "") -> Command:
    """``kubectl annotate`` of a service account (the same builder serves the run and --explain)."""
    from wizard.protocol import Expand

    pair = Expand(f"{key}={value}") if isinstance(value, Expand) else f"{key}={value}"
    return cmd("kubectl", "annotate", "-n", namespace, "serviceaccount", name, pair,
               *(["--overwrite"] if overwrite else []), note=note)


def rbac_manifest(namespace: str, sa: str, lineage: str) -> dict:
    """The Role and RoleBinding that let ``NS/SA`` manage ACK SageMaker resources (a List)."""
    def meta() -> dict:
        """Each object's own copy (shared dicts would print as YAML anchors)."""
        return {"name": RBAC_NAME, "namespace": namespace, "labels": {LABEL_KEY: lineage}}

    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(),
         "rules": [{"apiGroups": [ACK_GROUP], "resources": ["*"], "verbs": ["*"]},
                   {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": meta(),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": RBAC_NAME},
         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}]},
    ]}


def rbac_command(namespace: str, sa: str, lineage: str, note: str = "") -> Command:
    """``kubectl apply -f -`` of :func:`rbac_manifest`."""
    import yaml

    return cmd("kubectl", "apply", "-f", "-", note=note,
               stdin=yaml.safe_dump(rbac_manifest(namespace, sa, lineage), sort_keys=False))


def ensure_annotation(ctx: Context, reporter: Reporter, namespace: str, name: str, key: str,
                      value: str, step: str) -> None:
    """Put ``key: value`` on a service account; another value is replaced only after confirming
    (:func:`wizard.repairs.confirm_repair`), else reported with the kubectl command."""
    account = service_account(ctx, namespace, name)
    if account is None:
        raise StepError(f"The service account {namespace}/{name} does not exist.",
                        remediation=f"Is '{namespace}' your Kubeflow profile namespace? List them with "
                        "'kubectl get profiles' or 'kubectl get sa -A | grep default-editor'.")
    current = (account.metadata.annotations or {}).get(key)
    if current == value:
        reporter.log(f"{namespace}/{name} already carries {key}.")
        return
    fix = annotate_command(namespace, name, key, value, overwrite=bool(current))
    if current:
        from wizard.repairs import HOW_TO_ALLOW, confirm_repair

        reporter.log(f"{namespace}/{name} has {key}={current}, not {value}.", "warning")
        if not confirm_repair(ctx, f"{namespace}/{name} has {key}={current}; replace it with {value}?"):
            raise StepError(f"{namespace}/{name} is annotated with another role ({current}).",
                            remediation="Use pod_access: none (the lab's own components need "
                            "no pod role), or allow the replacement. "
                            + HOW_TO_ALLOW + fix.shell())
    reporter.command(fix)
    with ctx.ledger.intent(Resource(kind="k8s-annotation", name=f"{namespace}/{name}/{key}",
                                    namespace=namespace, step=step,
                                    details={"service_account": name, "key": key, "value": value,
                                             "previous": current})):
        ctx.clients.core_v1().patch_namespaced_service_account(
            name, namespace, {"metadata": {"annotations": {key: value}}})


def can_manage_ack(ctx: Context, namespace: str, sa: str) -> bool:
    """Whether ``system:serviceaccount:NS:SA`` may create and watch ACK SageMaker resources."""
    from kubernetes import client

    api = client.AuthorizationV1Api(ctx.clients.kube)
    user = f"system:serviceaccount:{namespace}:{sa}"
    for verb in ("create", "get", "watch", "delete"):
        review = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
            user=user, groups=["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
            resource_attributes=client.V1ResourceAttributes(
                namespace=namespace, verb=verb, group=ACK_GROUP, resource="trainingjobs")))
        try:
            result = api.create_subject_access_review(review)
        except api_exception() as exc:
            raise explain(exc, "checking RBAC with a SubjectAccessReview") from None
        if not result.status.allowed:
            return False
    return True


def ensure_ack_rbac(ctx: Context, reporter: Reporter, namespace: str, sa: str, step: str) -> bool:
    """Give the service account a Role on ACK SageMaker resources; False when already allowed."""
    if can_manage_ack(ctx, namespace, sa):
        reporter.log(f"{namespace}/{sa} may already manage ACK SageMaker resources.")
        return False
    from kubernetes import client

    rbac = ctx.clients.rbac_v1()
    labels = {LABEL_KEY: ctx.ledger.lineage}
    role = client.V1Role(
        metadata=client.V1ObjectMeta(name=RBAC_NAME, namespace=namespace, labels=labels),
        rules=[client.V1PolicyRule(api_groups=[ACK_GROUP], resources=["*"], verbs=["*"]),
               client.V1PolicyRule(api_groups=[""], resources=["events"], verbs=["get", "list", "watch"])])
    binding = client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=RBAC_NAME, namespace=namespace, labels=labels),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=RBAC_NAME),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name=sa, namespace=namespace)])
    reporter.command(rbac_command(namespace, sa, ctx.ledger.lineage))
    _create_or_keep(ctx, Resource(kind="k8s-role", name=RBAC_NAME, namespace=namespace, step=step),
                    lambda: rbac.create_namespaced_role(namespace, role))
    _create_or_keep(ctx, Resource(kind="k8s-rolebinding", name=RBAC_NAME, namespace=namespace,
                                  step=step),
                    lambda: rbac.create_namespaced_role_binding(namespace, binding))
    return True


def _create_or_keep(ctx: Context, resource: Resource, create) -> None:
    """Create an RBAC object under an intent; one that exists already (409) is kept and noted as
    reused, so cleanup leaves it (unless the lab's own intent made it before a crash)."""
    try:
        with ctx.ledger.intent(resource):
            create()
    except api_exception() as exc:
        if exc.status != 409:
            raise explain(exc, "creating RBAC objects") from None
        ctx.ledger.reused(resource)


def secret_keys(ctx: Context, namespace: str, name: str) -> dict | None:
    """The decoded data of a secret, or None when it does not exist. Never logged."""
    try:
        secret = ctx.clients.core_v1().read_namespaced_secret(name, namespace)
    except api_exception() as exc:
        if exc.status == 404:
            return None
        raise explain(exc, f"reading secret {namespace}/{name}") from None
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
