"""The ACK SageMaker controller: running, its CRDs installed, its IAM role, and its resources."""

from __future__ import annotations

from wizard.doctor.context import ACK_NAMESPACE, IRSA_ANNOTATION, DoctorContext
from wizard.doctor.lab import (DOC_ACK_COND, DOC_QUOTAS, ack_crds, age_s, classify, condition,
                               custom_resources, failure_texts, lab_kinds, ref)
from wizard.doctor.model import Skip, check, fail, ok, warn

DOC_ACK_INSTALL = ("https://aws-controllers-k8s.github.io/community/docs/user-docs/install/")
DOC_ACK_IRSA = "https://aws-controllers-k8s.github.io/community/docs/user-docs/irsa/"
#: how long ACK.Recoverable may stay True before the doctor calls the resource stuck
RECOVERABLE_GRACE_S = 300.0
#: known problems (lab.classify keys) that ACK reports as recoverable but that no retry can
#: clear: an account quota stays until someone raises it (ResourceLimitExceeded is in no lab
#: kind's terminal codes, so ACK retries it forever). Stuck at once, no grace period.
NEVER_HEALS = frozenset({"limit"})


class _NoProblem:
    """Stands for "no known problem" where a key is read."""

    key = ""


_NO_PROBLEM = _NoProblem()


def _controller(ctx: DoctorContext):
    """The ACK SageMaker controller's Deployment in ack-system, or None."""
    if "ack_deployment" not in ctx.cache:
        ctx.require_kube()
        deployments = ctx.clients.apps_v1().list_namespaced_deployment(
            ACK_NAMESPACE, _request_timeout=6).items
        found = [d for d in deployments if "sagemaker" in d.metadata.name]
        ctx.cache["ack_deployment"] = found[0] if found else None
    return ctx.cache["ack_deployment"]


def _controller_name(ctx: DoctorContext) -> str:
    """The controller Deployment's name, or the Helm chart's default when it cannot be read."""
    try:
        deployment = _controller(ctx)
    except Exception:  # noqa: BLE001 - only used to word a remediation
        deployment = None
    return deployment.metadata.name if deployment is not None else \
        "ack-sagemaker-controller-sagemaker-chart"


@check("ack-controller", "ACK SageMaker controller running", area="ack",
       doc_url=DOC_ACK_INSTALL)
def ack_controller(ctx: DoctorContext):
    """A Deployment of the ACK SageMaker controller in ack-system has a ready replica."""
    deployment = _controller(ctx)
    if deployment is None:
        return fail(f"No ACK SageMaker controller Deployment in namespace {ACK_NAMESPACE}; "
                    "custom resources will never reach SageMaker.",
                    "Install it with Helm (helm install -n ack-system ack-sagemaker-controller "
                    "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart --version 1.x "
                    "--set aws.region=<region>).")
    name = deployment.metadata.name
    wanted = deployment.spec.replicas if deployment.spec.replicas is not None else 1
    ready = (deployment.status.ready_replicas or 0) if deployment.status else 0
    if wanted == 0:
        return fail(f"{ACK_NAMESPACE}/{name} is scaled to 0 replicas: nothing reconciles the "
                    "SageMaker custom resources.",
                    f"kubectl -n {ACK_NAMESPACE} scale deployment {name} --replicas=1")
    if ready < 1:
        return fail(f"{ACK_NAMESPACE}/{name} wants {wanted} replica(s) but none is ready.",
                    f"Look at its pod: kubectl -n {ACK_NAMESPACE} describe pod -l "
                    f"app.kubernetes.io/name=sagemaker-chart; kubectl -n {ACK_NAMESPACE} logs "
                    f"deploy/{name}.")
    return ok(f"{ACK_NAMESPACE}/{name}: {ready}/{wanted} replica(s) ready.")


@check("ack-crds", "ACK SageMaker CRDs installed", area="ack", doc_url=DOC_ACK_INSTALL)
def ack_crds_check(ctx: DoctorContext):
    """Every ACK kind the lab's pipeline uses has its CRD in the cluster."""
    installed = ack_crds(ctx)
    missing = [k for k in lab_kinds(ctx) if k not in installed]
    if missing:
        return fail(f"Missing CRDs for: {', '.join(missing)} (sagemaker.services.k8s.aws).",
                    "Install the controller's CRDs (they come with its Helm chart; or kubectl "
                    "apply -f the chart's crds/ directory, e.g. "
                    "sagemaker.services.k8s.aws_trainingjobs.yaml).")
    return ok(f"{len(installed)} ACK SageMaker CRDs installed, including the lab's "
              f"{len(lab_kinds(ctx))}.")


@check("ack-irsa", "ACK controller's IAM role: trust, SageMaker, PassRole", area="ack",
       doc_url=DOC_ACK_IRSA)
def ack_irsa(ctx: DoctorContext):
    """The controller's service account names a role (its live annotation) that trusts it through
    the cluster's OIDC provider, and that IAM's simulator lets call SageMaker and pass the
    execution role to SageMaker: with ACK this role, not the pipeline's pods, calls SageMaker."""
    from wizard import ack_role

    deployment = _controller(ctx)
    if deployment is None:
        raise Skip("no controller Deployment (see check 'ack-controller')")
    sa_name = deployment.spec.template.spec.service_account_name or "default"
    try:
        arn = ack_role.annotated_role(ctx.core(), sa_name, _request_timeout=6)
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "status", None) == 404:
            return fail(f"The controller's service account {ACK_NAMESPACE}/{sa_name} is "
                        "missing.", "Reinstall the Helm chart, which creates it.")
        raise
    fix = (f"kubectl -n {ACK_NAMESPACE} annotate serviceaccount {sa_name} {IRSA_ANNOTATION}="
           f"<role ARN> --overwrite, then kubectl -n {ACK_NAMESPACE} rollout restart deployment "
           f"{deployment.metadata.name}")
    if not arn:
        return fail(f"{ACK_NAMESPACE}/{sa_name} has no {IRSA_ANNOTATION} annotation: the "
                    "controller cannot call SageMaker.", fix)
    try:
        iam = ctx.aws("iam")
    except Skip:
        return ok(f"{ACK_NAMESPACE}/{sa_name} is annotated with {arn} (not checked in IAM).")
    verdict = ack_role.judge(iam, arn, service_account=sa_name, issuer=_issuer(ctx),
                             execution_role_arn=ctx.fact("execution_role_arn", "credentials"))
    if not verdict.ok:
        whats = [what for what, _ in verdict.problems]
        fixes = [how for _, how in verdict.problems]
        if any("which does not exist" in what for what in whats):
            fixes = [fix]
        return fail("The ACK controller calls SageMaker for the pipeline, with its own role: "
                    + "; ".join(whats) + ".", " Then: ".join(fixes))
    if verdict.unknown:
        return warn(ack_role.describe(verdict),
                    "Ask IAM yourself (aws iam simulate-principal-policy, see the doc link) or "
                    "give the doctor an identity allowed iam:SimulatePrincipalPolicy.")
    return ok(ack_role.describe(verdict))


def _issuer(ctx: DoctorContext) -> str | None:
    """The cluster's OIDC issuer URL (None when the cluster is unknown or cannot be read)."""
    if not ctx.cluster_name:
        return None
    try:
        return ctx.aws("eks").describe_cluster(name=ctx.cluster_name)["cluster"]["identity"][
            "oidc"]["issuer"] or None
    except Exception:  # noqa: BLE001 - without the issuer the trust is reported as not judged
        return None


@check("ack-conditions", "Custom resources free of ACK errors", area="ack", doc_url=DOC_ACK_COND)
def ack_conditions(ctx: DoctorContext):
    """No lab custom resource is ACK.Terminal, or stuck in ACK.Recoverable."""
    if not ack_crds(ctx):
        raise Skip("no ACK SageMaker CRDs are installed (see check 'ack-crds')")
    objects = custom_resources(ctx)
    if not objects:
        raise Skip(f"no SageMaker custom resources in {ctx.namespace or 'the cluster'} yet")
    terminal, stuck, retrying = [], [], []
    for obj in objects:
        cond = condition(obj, "ACK.Terminal")
        if cond:
            terminal.append((obj, cond))
            continue
        cond = condition(obj, "ACK.Recoverable")
        if cond:
            age = age_s(cond.get("lastTransitionTime"))
            hopeless = (classify(cond.get("message", "")) or _NO_PROBLEM).key in NEVER_HEALS
            (stuck if hopeless or age is None or age >= RECOVERABLE_GRACE_S
             else retrying).append((obj, cond))
    if terminal or stuck:
        obj, cond = (terminal or stuck)[0]
        if terminal:
            kind = "ACK.Terminal"
        elif (classify(cond.get("message", "")) or _NO_PROBLEM).key in NEVER_HEALS:
            kind = ("ACK.Recoverable (ACK retries, but every retry is refused until the quota "
                    "is raised)")
        else:
            kind = "ACK.Recoverable for over 5 minutes"
        problem = classify(cond.get("message", ""))
        others = len(terminal) + len(stuck) - 1
        found = (f"{ref(obj)} is {kind}: {cond.get('message', '(no message)')[:300]}"
                 + (f" (and {others} more)" if others else "") + ".")
        describe = (f"kubectl -n {ctx.namespace} describe {obj.get('kind', '').lower()} "
                    f"{obj['metadata']['name']}")
        if problem:
            fix = problem.remediation
        elif terminal:
            fix = ("Read the message; fix the spec and re-create the resource (ACK does not retry "
                   f"a terminal error): {describe}.")
        else:
            # ACK keeps retrying a recoverable error by itself, so the resource heals once its
            # cause is gone; re-creating it changes nothing
            fix = ("ACK keeps retrying, so the cause is outside the resource: read the message "
                   f"({describe}) and the controller's log (kubectl -n {ACK_NAMESPACE} logs "
                   f"deploy/{_controller_name(ctx)}); fix that cause (the controller's IAM "
                   "permissions, a quota, a missing dependency) and it syncs on its own.")
        return fail(found, fix, problem.doc_url if problem else None)
    if retrying:
        obj, cond = retrying[0]
        return warn(f"{ref(obj)} is ACK.Recoverable (ACK is retrying): "
                    f"{cond.get('message', '')[:200]}.",
                    "Usually passes on its own; if it stays for more than a few minutes, read "
                    "the message and fix its cause.")
    return ok(f"{len(objects)} custom resource(s), none in an ACK error condition.")


@check("resource-limits", "Instance quotas (ResourceLimitExceeded)", area="sagemaker",
       doc_url=DOC_QUOTAS)
def resource_limits(ctx: DoctorContext):
    """No training job or endpoint was refused for the account's instance quota."""
    hits = [(where, text) for where, text in failure_texts(ctx)
            if (p := classify(text)) and p.key == "limit"]
    if hits:
        where, text = hits[0]
        problem = classify(text)
        return fail(f"{where}: {text[:300]}", problem.remediation)
    if not failure_texts(ctx) and not ctx.kube_probe()[0]:
        raise Skip("nothing to look at: no recorded failure and no cluster to read")
    return ok(f"No ResourceLimitExceeded among {len(failure_texts(ctx))} recorded failure(s).")
