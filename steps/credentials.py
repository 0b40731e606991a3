"""Lab step 'credentials': give SageMaker and the pipeline the AWS access they need."""

from __future__ import annotations

import json
import os
from pathlib import Path

from wizard import validate
from wizard.aws import iam as iamlib
from wizard.aws.errors import explain as explain_aws
from wizard.errors import InputError
from wizard.protocol import (Command, Context, Expand, InputSpec, Reporter, Step, VerifyResult,
                             cmd, partition_of)
from wizard import k8s, preflight
from wizard import access, ack_role
from wizard.ledger import TAG_KEY
from wizard.repairs import repair_spec

DEFAULT_NAMESPACE = "kubeflow-user-example-com"
PROFILE_SA = "default-editor"
STANDALONE_SA = "pipeline-runner"


def _default_region(ctx: Context) -> str:
    if ctx.target.region:
        return ctx.target.region
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"


def _default_cluster(ctx: Context) -> str | None:
    if ctx.target.sandbox.get("cluster_name"):
        return ctx.target.sandbox["cluster_name"]
    if ctx.explain:
        return None
    try:
        clusters = ctx.clients.aws("eks").list_clusters().get("clusters", [])
    except Exception:  # noqa: BLE001 - no default then; the run explains what is wrong
        return None
    return clusters[0] if len(clusters) == 1 else None


def _default_namespace(ctx: Context) -> str:
    return ctx.target.namespace or preflight.in_cluster_namespace() or DEFAULT_NAMESPACE


def _default_service_account(ctx: Context) -> str:
    """``default-editor`` (a Kubeflow profile), or ``pipeline-runner`` on standalone KFP.

    Standalone Kubeflow Pipelines runs its pods as ``pipeline-runner`` in its own namespace and has
    no profiles, so a namespace without ``default-editor`` that has ``pipeline-runner`` is that case.
    Nothing is looked up in explain mode; when the cluster cannot be read the default stays
    ``default-editor`` and the run reports the real problem (no cluster access) itself.
    """
    namespace = ctx.input("namespace") or DEFAULT_NAMESPACE
    fallback = (ctx.target.service_account if ctx.target.service_account
                and namespace == (ctx.target.namespace or DEFAULT_NAMESPACE) else PROFILE_SA)
    if ctx.explain:
        return fallback
    try:
        # asked once: when the cluster is down, the step's own check (with retries) says so
        if k8s.service_account(ctx, namespace, PROFILE_SA, once=True) is not None:
            return PROFILE_SA
        if k8s.service_account(ctx, namespace, STANDALONE_SA, once=True) is not None:
            return STANDALONE_SA
    except Exception:  # noqa: BLE001 - no cluster access: the run explains it, not the default
        pass
    return fallback


def _default_bucket(ctx: Context) -> str | None:
    if ctx.target.sandbox.get("bucket"):
        return ctx.target.sandbox["bucket"]
    if os.environ.get("AWS_S3_BUCKET_NAME"):
        return os.environ["AWS_S3_BUCKET_NAME"]
    if ctx.explain:
        return None
    try:
        account = preflight.identity(ctx).account
    except Exception:  # noqa: BLE001 - no default then; the run explains what is wrong
        return None
    return f"kfp-sagemaker-lab-{account}-{ctx.input('region') or _default_region(ctx)}"


def short_id(ctx: Context) -> str:
    """Eight characters of the lab's lineage, used in the names of what the wizard creates."""
    return ctx.ledger.lineage.replace("-", "")[:8]


def execution_role_name(ctx: Context) -> str:
    """The name of the execution role the wizard creates when none is given."""
    return f"labwiz-sagemaker-execution-{short_id(ctx)}"


def pod_role_name(ctx: Context) -> str:
    """The name of the IRSA role for the pipeline's pods."""
    return f"labwiz-kfp-pod-{short_id(ctx)}"


def _tags(ctx: Context, lab_id: str) -> dict:
    """The tags of what the wizard creates (a placeholder lineage before the first run)."""
    tags = ctx.ledger.tags()
    if lab_id == "<id>":
        tags = {k: ("<lineage>" if k == TAG_KEY else v) for k, v in tags.items()}
    return tags


# -- the commands of this step's look-ups (the same builders serve the run and --explain) ------
def identity_command() -> Command:
    """``aws sts get-caller-identity``."""
    return cmd("aws", "sts", "get-caller-identity", note="who you are: the account and identity")


def issuer_command(cluster) -> Command:
    """The cluster's OIDC issuer."""
    return cmd("aws", "eks", "describe-cluster", "--name", cluster, "--query",
               "cluster.identity.oidc.issuer", "--output", "text",
               note="the cluster's OIDC issuer (IRSA needs it)")


def providers_command() -> Command:
    """The account's IAM OIDC providers."""
    return cmd("aws", "iam", "list-open-id-connect-providers",
               note="IRSA works only when the issuer is registered as an IAM OIDC provider")


def service_account_command(namespace: str, sa: str) -> Command:
    """``kubectl get serviceaccount``."""
    return cmd("kubectl", "get", "serviceaccount", sa, "-n", namespace)


def can_i_command(namespace: str, sa: str) -> Command:
    """Whether the pipeline's service account may create ACK SageMaker resources."""
    return cmd("kubectl", "auth", "can-i", "create", f"trainingjobs.{k8s.ACK_GROUP}", "-n",
               namespace, "--as", f"system:serviceaccount:{namespace}:{sa}")


class CredentialsStep(Step):
    """Give SageMaker and the pipeline the AWS access they need."""

    id = "credentials"
    title = "Credentials"
    summary = "Give SageMaker and the pipeline the AWS access they need."
    lesson = """Several identities take part in this lab, and mixing them up is the most common way to get stuck.

* **The pipeline's pods** run the lab's components. Each one only creates a custom resource (a
  `TrainingJob`, an `Endpoint`, ...) in their namespace and watches it: they talk to Kubernetes,
  never to AWS. What they need is **RBAC**: a Role and RoleBinding letting their service account
  manage `sagemaker.services.k8s.aws` resources. No AWS credentials are given to them.
* **The ACK SageMaker controller** turns those resources into SageMaker calls with *its own* IAM
  role, given to its service account in `ack-system` through IRSA (IAM Roles for Service
  Accounts). The wizard reads that role from the live annotation and asks IAM whether it trusts
  the controller's service account through the cluster's OIDC provider, may make the lab's
  SageMaker calls, and may pass the execution role to SageMaker (`iam:PassRole`). It belongs to
  whoever installed the controller: the wizard reports a problem with the fix, it never edits it.
* **The SageMaker execution role** is assumed by SageMaker itself while it runs your jobs and hosts
  your endpoint. It must trust `sagemaker.amazonaws.com` and be able to read and write the lab bucket.
* **You**: the endpoint test calls `sagemaker:InvokeEndpoint` as you. IAM's policy simulator says
  whether you may (it sees groups, boundaries and denies); your own identity is never changed
  unless you say yes to the exact command.

The original lab text also gives the pods AWS access: an IAM role on their service account
(IRSA), or an IAM user's key in the `aws-secret` Secret. Nothing in this lab's pipeline uses it,
so by default (`pod_access: none`) neither is created. Choose `irsa` or `secret` only for
components of your own that call AWS from the pod (boto3 reading S3, say); note that the compiled
pipeline does not mount `aws-secret` into any pod by itself.

The wizard creates what is missing, reuses what is right, and repairs what is wrong after asking."""
    #: every kind the step may create; the pod role's and the aws-secret's kinds (iam-user,
    #: iam-access-key, k8s-secret, k8s-annotation, and the pod role itself) only when
    #: pod_access is irsa or secret
    creates = ("iam-role", "iam-policy", "iam-user", "iam-access-key", "k8s-secret",
               "k8s-annotation", "k8s-role", "k8s-rolebinding")

    def input_specs(self) -> list[InputSpec]:
        """Region, cluster, namespace, service account, bucket, execution role, access mode."""
        return [
            InputSpec("region", "AWS region for the whole lab", default=_default_region,
                      validate=validate.region, help="Session, bucket, cluster and images all use it.",
                      level="detected"),
            # not required up front: without AWS access there is no default, and the run then
            # says what is really wrong (no credentials) before asking for a name
            InputSpec("cluster_name", "EKS cluster name", default=_default_cluster, required=False,
                      help="'aws eks list-clusters' lists them.", level="detected"),
            InputSpec("namespace", "Kubeflow profile namespace the pipeline runs in",
                      default=_default_namespace, validate=validate.namespace, level="detected"),
            InputSpec("service_account", "Service account of the pipeline's pods",
                      default=_default_service_account, validate=validate.service_account,
                      help="default-editor on Kubeflow; pipeline-runner on standalone KFP (found "
                      "by itself when the namespace has only that one).", level="detected"),
            InputSpec("bucket", "S3 bucket for the lab's data and artifacts", default=_default_bucket,
                      validate=validate.bucket_name, required=False, level="detected"),
            InputSpec("execution_role_arn", "SageMaker execution role ARN (empty: create one)",
                      required=False, validate=validate.role_arn,
                      help="An existing role trusting sagemaker.amazonaws.com, or leave empty.",
                      level="advanced"),
            InputSpec("pod_access", "AWS access for the pipeline's pods", default="none",
                      choices=["none", "irsa", "secret"], kind="choice",
                      validate=validate.choice("none", "irsa", "secret"), level="advanced",
                      help="none: the lab's components only create ACK resources and the ACK "
                      "controller's role calls SageMaker, so the pods get no AWS credentials. "
                      "For components of your own that call AWS from the pod (boto3, S3 "
                      "reads): irsa, an IAM role on the pods' service account (needs the "
                      "cluster's OIDC provider); secret, an IAM user's key in the aws-secret "
                      "Secret (which your components must mount themselves)."),
            InputSpec("policy_mode", "Permissions for the roles the wizard creates", default="scoped",
                      choices=["scoped", "full"], kind="choice", validate=validate.choice("scoped", "full"),
                      help="scoped: S3 access to the lab bucket only; full: the lab's "
                      "AmazonSageMakerFullAccess and AmazonS3FullAccess.", level="advanced"),
            repair_spec(),
        ]

    # -- run ----------------------------------------------------------------------------------
    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Check the environment, then create, reuse or repair each credential."""
        region = ctx.input("region")
        if ctx.target.is_sandbox and region != ctx.target.region:
            raise InputError(f"The sandbox runs in {ctx.target.region}, not {region}.",
                             remediation=f"Use region {ctx.target.region}, or restart the sandbox "
                             f"with 'labwiz sandbox reset' and 'labwiz sandbox up --region {region}'.")
        if region != ctx.target.region:
            ctx.target.region = region
            ctx.reset_clients()
        reporter.log(f"Running from: {preflight.where_am_i(ctx)}.")
        reporter.command(identity_command())
        me = preflight.identity(ctx)
        # the account is the ARN's fifth field: said once, the line fits a terminal
        shown = me.arn if f":{me.account}:" in me.arn else f"{me.arn} (account {me.account})"
        reporter.log(f"AWS identity: {shown}, region {region}.")
        if not ctx.input("bucket"):
            raise InputError("No S3 bucket was given.",
                             remediation="Give 'bucket' in the answers file (or set "
                             "AWS_S3_BUCKET_NAME); the wizard creates it when it does not exist.")
        cluster = self._cluster(ctx, reporter)
        namespace, sa = ctx.input("namespace"), ctx.input("service_account")
        ack = self._check_kubernetes(ctx, reporter, namespace, sa)
        execution_role = access.execution_role(ctx, reporter, me, step=self.id)
        self._check_ack_role(ctx, reporter, ack, cluster["issuer"], execution_role)
        mode = ctx.input("pod_access") or "none"
        if mode == "irsa" and not cluster["oidc_provider"]:
            reporter.log("The cluster has no IAM OIDC provider, so IRSA cannot work; using the "
                         "lab's aws-secret instead. To enable IRSA: eksctl utils "
                         f"associate-iam-oidc-provider --cluster {cluster['name']} --approve",
                         "warning")
            mode = "secret"
        outputs = {"account_id": me.account, "region": region, "cluster_name": cluster["name"],
                   "oidc_issuer": cluster["issuer"], "namespace": namespace, "service_account": sa,
                   "execution_role_arn": execution_role, "access_mode": mode,
                   "pod_role_arn": None, "secret_name": None, "ack_role_arn": ack.role_arn}
        if mode == "irsa":
            outputs["pod_role_arn"] = access.pod_role(ctx, reporter, me, cluster["issuer"],
                                                      namespace, sa, step=self.id)
        elif mode == "secret":
            outputs["secret_name"] = access.aws_secret(ctx, reporter, me, namespace, step=self.id)
        else:
            reporter.log(f"pod_access none: {namespace}/{sa} gets no AWS credentials (no pod "
                         "role, no annotation, no aws-secret): the lab's components only create "
                         "ACK resources, and the ACK controller's role calls SageMaker.")
        reporter.command(can_i_command(namespace, sa))
        k8s.ensure_ack_rbac(ctx, reporter, namespace, sa, step=self.id)
        access.invoke_permission(ctx, reporter, me, step=self.id)
        items = [("execution role", execution_role),
                 ("ACK controller role", ack.role_arn or "none (see the warnings above)"),
                 ("pods' AWS access", mode if mode != "none" else "none (not needed)")]
        if outputs["pod_role_arn"]:
            items.append(("pod role", outputs["pod_role_arn"]))
        if outputs["secret_name"]:
            items.append(("secret", outputs["secret_name"]))
        items.append(("namespace / service account", f"{namespace} / {sa}"))
        reporter.show("kv", {"title": "Credentials", "items": items})
        return outputs

    @staticmethod
    def _check_ack_role(ctx: Context, reporter: Reporter, ack, issuer: str,
                        execution_role: str) -> None:
        """Ask IAM about the ACK controller's own role: trust, SageMaker, PassRole.

        Only read and reported: the role belongs to whoever installed the controller, so a
        problem is a warning with its fix (the doctor's 'ack-irsa' fails on it), never an edit.
        """
        reporter.command(ack_role.role_arn_command(ack.service_account))
        if not ack.role_arn:
            return  # the preflight findings above already said so, with the fix
        reporter.command(ack_role.sagemaker_check_command(ack.role_arn))
        reporter.command(ack_role.pass_role_check_command(ack.role_arn, execution_role))
        try:
            verdict = ack_role.judge(ctx.clients.aws("iam"), ack.role_arn,
                                     service_account=ack.service_account, issuer=issuer or None,
                                     execution_role_arn=execution_role)
        except Exception as exc:  # noqa: BLE001 - a look-up only: say so, carry on
            from wizard.aws.errors import error_code

            reporter.log(f"Could not read the ACK controller's role {ack.role_arn} "
                         f"({error_code(exc) or type(exc).__name__}); 'labwiz doctor --check "
                         "ack-irsa' checks it again.", "warning")
            return
        for what in verdict.passed:
            reporter.log(f"✔ ACK controller's role {what}.")
        for what, fix in verdict.problems:
            reporter.log(f"✘ ACK controller's role: {what}.", "warning")
            reporter.log(f"  to fix: {fix}", "warning")
        for what in verdict.unknown:
            reporter.log(f"? ACK controller's role: not judged: {what}.", "warning")

    def _cluster(self, ctx: Context, reporter: Reporter) -> dict:
        name = ctx.input("cluster_name")
        if not name:
            raise InputError("No EKS cluster name was given and none could be chosen.",
                             remediation="Give cluster_name in the answers file; 'aws eks "
                             "list-clusters' lists them.")
        eks, iam = ctx.clients.aws("eks"), ctx.clients.aws("iam")
        reporter.command(issuer_command(name))
        try:
            described = eks.describe_cluster(name=name)["cluster"]
        except eks.exceptions.ResourceNotFoundException:
            known = eks.list_clusters().get("clusters", [])
            raise InputError(f"There is no EKS cluster '{name}' in {ctx.target.region}.",
                             remediation=f"Clusters there: {', '.join(known) or 'none'}. Check the "
                             "name and the region.") from None
        except Exception as exc:  # noqa: BLE001
            raise explain_aws(exc, f"describing cluster {name}") from None
        issuer = (described.get("identity", {}).get("oidc", {}) or {}).get("issuer", "")
        host = issuer.removeprefix("https://")
        reporter.command(providers_command())
        providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        has_provider = bool(host) and any(p["Arn"].endswith(f"oidc-provider/{host}") for p in providers)
        reporter.log(f"Cluster {name}: OIDC issuer {issuer or 'none'}, IAM OIDC provider "
                     f"{'present' if has_provider else 'missing'}.")
        return {"name": name, "issuer": issuer, "oidc_provider": has_provider}

    def _check_kubernetes(self, ctx: Context, reporter: Reporter, namespace: str,
                          sa: str) -> preflight.AckStatus:
        """The namespace and service account exist; what the cluster has of the ACK controller."""
        reporter.command(service_account_command(namespace, sa))
        try:
            ctx.clients.core_v1().read_namespace(namespace)
        except k8s.api_exception() as exc:
            if exc.status == 404:
                raise InputError(f"The namespace '{namespace}' does not exist in the cluster.",
                                 remediation="Use your Kubeflow profile namespace ('kubectl get "
                                 "profiles'), or 'kubeflow' on standalone KFP.") from None
            raise k8s.explain(exc, f"reading namespace {namespace}") from None
        if k8s.service_account(ctx, namespace, sa) is None:
            raise InputError(f"The service account {namespace}/{sa} does not exist.",
                             remediation="On Kubeflow the profile's pods run as default-editor; on "
                             "standalone KFP as pipeline-runner in 'kubeflow'.")
        ack = preflight.ack_controller(ctx)
        if all(f.ok for f in ack.findings):  # all well: one line
            reporter.log("✔ " + " · ".join(f.what for f in ack.findings))
            return ack
        for finding in ack.findings:
            reporter.log(("✔ " if finding.ok else "✘ ") + finding.what,
                         "info" if finding.ok else "warning")
            if not finding.ok and finding.fix:
                reporter.log(f"  to fix: {finding.fix}", "warning")
        return ack

    # -- verify -------------------------------------------------------------------------------
    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """The roles still exist and trust the right principals; the pod access and RBAC are there.

        With ``access_mode`` none (the default) there is no pod access to check. A state from
        before that default keeps its ``irsa`` or ``secret`` outputs and is checked as it was made.
        The pods' role must let exactly ``system:serviceaccount:<ns>:<sa>`` in through the
        cluster's OIDC provider with audience ``sts.amazonaws.com``; a trust naming another
        namespace or service account fails, with the command that repairs it.
        """
        iam = ctx.clients.aws("iam")
        try:
            role = iam.get_role(RoleName=validate.role_name_of(outputs["execution_role_arn"]))["Role"]
        except iam.exceptions.NoSuchEntityException:
            return VerifyResult(False, "the execution role no longer exists")
        if iamlib.trust_kind(role["AssumeRolePolicyDocument"]) != "sagemaker":
            return VerifyResult(False, "the execution role no longer trusts SageMaker")
        ns, sa = outputs["namespace"], outputs["service_account"]
        if outputs["access_mode"] == "irsa":
            pod_arn = outputs["pod_role_arn"]
            pod_name = validate.role_name_of(pod_arn)
            try:
                pod = iam.get_role(RoleName=pod_name)["Role"]
            except iam.exceptions.NoSuchEntityException:
                return VerifyResult(False, "the pipeline pods' IAM role no longer exists")
            partition, account = pod_arn.split(":")[1], pod_arn.split(":")[4]
            problem = iamlib.irsa_trust_problem(pod["AssumeRolePolicyDocument"], account,
                                                outputs["oidc_issuer"], ns, sa, partition)
            if problem:
                # the reason is all a learner sees of a failed verify: say what fixes it
                trust = json.dumps(iamlib.irsa_trust(account, outputs["oidc_issuer"], ns, sa,
                                                     partition))
                fix = iamlib.update_trust_command(pod_name, json.loads(trust))
                return VerifyResult(False, f"the trust policy of the pods' role {pod_name} {problem}; "
                                    "'labwiz run --from credentials' repairs it after asking, or "
                                    f"run: {fix.shell()}")
            account = k8s.service_account(ctx, ns, sa)
            annotation = (account.metadata.annotations or {}).get(k8s.IRSA_ANNOTATION) if account else None
            if annotation != outputs["pod_role_arn"]:
                return VerifyResult(False, f"{ns}/{sa} is no longer annotated with the pod role")
        elif outputs["access_mode"] == "secret" and \
                k8s.secret_keys(ctx, ns, outputs["secret_name"]) is None:
            return VerifyResult(False, f"the secret {ns}/{outputs['secret_name']} is gone")
        if not k8s.can_manage_ack(ctx, ns, sa):
            return VerifyResult(False, f"{ns}/{sa} may no longer manage ACK SageMaker resources")
        return VerifyResult(True)

    # -- explain ------------------------------------------------------------------------------
    def commands(self, ctx: Context) -> list:
        """What this step does, as aws and kubectl commands (placeholders where nothing is known).

        Built from the answers and the state only, never from a service: ``--explain`` must not
        touch anything. The commands come from the same builders the run reports with. Unknown
        names are the lab's environment variables (``$AWS_CLUSTER_NAME``,
        ``$AWS_S3_BUCKET_NAME``), which the shell fills in; keys never appear.
        """
        known = ctx.outputs_of("credentials")
        ns = ctx.input("namespace") or known.get("namespace") or DEFAULT_NAMESPACE
        sa = ctx.input("service_account") or known.get("service_account") or PROFILE_SA
        cluster = ctx.input("cluster_name") or known.get("cluster_name") or Expand("$AWS_CLUSTER_NAME")
        bucket = ctx.input("bucket") or "<bucket>"
        account = known.get("account_id") or "<account-id>"
        partition = partition_of(known.get("execution_role_arn") or ctx.input("region")
                                 or ctx.target.region)
        issuer = known.get("oidc_issuer") or "https://oidc.eks.<region>.amazonaws.com/id/<id>"
        lab_id = short_id(ctx) if (Path(ctx.state_dir) / "state.json").exists() else "<id>"
        tags = _tags(ctx, lab_id)
        mode = ctx.input("pod_access") or known.get("access_mode") or "none"
        out = [identity_command(), issuer_command(cluster), providers_command(),
               service_account_command(ns, sa),
               cmd("kubectl", "-n", preflight.ACK_NAMESPACE, "get", "deployments",
                   note="the ACK SageMaker controller (the Helm chart names it "
                   "<release>-sagemaker-chart)")]
        given = ctx.input("execution_role_arn")
        if given:
            out.append(access.get_role_command(
                validate.role_name_of(given), note="your execution role: it must trust "
                "sagemaker.amazonaws.com; when it does not, the wizard asks, then adds "
                + json.dumps(iamlib.sagemaker_trust()["Statement"][0]) + " to its trust policy "
                "(aws iam update-assume-role-policy)"))
        else:
            name = f"labwiz-sagemaker-execution-{lab_id}"
            out += [
                iamlib.create_role_command(name, iamlib.sagemaker_trust(), tags,
                                           note="the SageMaker execution role (trust: "
                                           "sagemaker.amazonaws.com)"),
                iamlib.attach_role_policy_command(
                    name, iamlib.managed_policy(iamlib.SAGEMAKER_FULL_NAME, partition)),
                iamlib.put_role_policy_command(name, access.BUCKET_POLICY,
                                               iamlib.bucket_access(bucket, partition),
                                               note=f"S3 access scoped to the lab bucket {bucket}"),
            ]
            if ctx.input("policy_mode") == "full":
                out.append(iamlib.attach_role_policy_command(
                    name, iamlib.managed_policy(iamlib.S3_FULL_NAME, partition),
                    note="policy_mode: full"))
        execution_arn = (given or known.get("execution_role_arn")
                         or f"arn:{partition}:iam::{account}:role/labwiz-sagemaker-execution-{lab_id}")
        out += self._ack_role_commands(known.get("ack_role_arn"), execution_arn)
        if mode == "irsa":
            out += self._irsa_commands(ctx, ns, sa, bucket, account, partition, issuer, lab_id)
        if mode in ("irsa", "secret"):
            out += self._secret_commands(ns, lab_id, mode, partition, tags)
        out += [
            can_i_command(ns, sa),
            k8s.rbac_command(ns, sa, ctx.ledger.lineage if lab_id != "<id>" else "<lineage>",
                             note="only when the service account may not manage ACK SageMaker "
                             "resources yet"),
            access.invoke_check_command(Expand(
                "$(aws sts get-caller-identity --query Arn --output text)")),
        ]
        return out

    @staticmethod
    def _ack_role_commands(role_arn: str | None, execution_arn: str) -> list:
        """The ACK controller's role read from its service account, then judged by IAM.

        Before a run the role is not known: a placeholder stands for what the first command
        prints (a command substitution would need the backslashes kubectl's jsonpath wants).
        """
        read = ack_role.role_arn_command()
        role = role_arn or "<ack-controller-role-arn>"
        return [read, ack_role.sagemaker_check_command(role),
                ack_role.pass_role_check_command(role, execution_arn)]

    @staticmethod
    def _irsa_commands(ctx: Context, ns: str, sa: str, bucket: str, account: str, partition: str,
                       issuer: str, lab_id: str) -> list:
        """IRSA: the pods' role, its trust policy, its permissions and the annotation."""
        name = f"labwiz-kfp-pod-{lab_id}"
        trust = iamlib.irsa_trust(account, issuer, ns, sa, partition)
        out = [
            iamlib.create_role_command(
                name, trust, _tags(ctx, lab_id),
                note=f"pod_access: irsa. The pods' role; its trust lets only {ns}/{sa} in through "
                "the cluster's OIDC provider, audience sts.amazonaws.com"),
            iamlib.put_role_policy_command(name, access.POD_POLICY,
                                           access.pod_policy(bucket, partition)),
            k8s.annotate_command(ns, sa, k8s.IRSA_ANNOTATION,
                                 f"arn:{partition}:iam::{account}:role/{name}"),
        ]
        if ctx.input("policy_mode") == "full":
            out.insert(1, iamlib.attach_role_policy_command(
                name, iamlib.managed_policy(iamlib.SAGEMAKER_FULL_NAME, partition),
                note="policy_mode: full"))
        return out

    @staticmethod
    def _secret_commands(ns: str, lab_id: str, mode: str, partition: str, tags: dict) -> list:
        """The lab's aws-secret: an IAM user, its access key, and the Secret (placeholders only)."""
        when = ("pod_access: secret" if mode == "secret"
                else "instead of IRSA when the cluster has no IAM OIDC provider")
        return [*access.secret_user_commands(f"labwiz-kfp-{lab_id}", partition, tags,
                                             note=f"{when}: the lab's aws-secret"),
                access.secret_command(ns, "<access-key-id>")]
