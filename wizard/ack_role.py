"""The ACK SageMaker controller's own IAM role: the identity that really calls SageMaker.

With ACK-based components the pipeline's pods only create custom resources in their namespace;
the controller in ``ack-system`` turns each one into SageMaker calls with the role its service
account is annotated with (IRSA). So that role, not a role of the pods, decides whether the lab's
jobs can start. This module reads it the way the controller gets it (the live annotation) and
judges it the way AWS will:

* its trust policy lets exactly ``system:serviceaccount:ack-system:<account>`` in through the
  cluster's OIDC provider, and that provider is registered in IAM;
* IAM's policy simulator allows it the SageMaker calls the lab's kinds make, and
  ``iam:PassRole`` on the execution role with ``iam:PassedToService`` = sagemaker.amazonaws.com
  (every job and model hands the execution role to SageMaker).

The credentials step and the doctor share it: both only read, neither changes the controller's
role, which belongs to whoever installed the controller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wizard.aws import iam as iamlib
from wizard.aws.errors import error_code
from wizard.protocol import Command, cmd

ACK_NAMESPACE = "ack-system"
#: the Helm chart's default service account name (its Deployment's name carries the chart's)
DEFAULT_SERVICE_ACCOUNT = "ack-sagemaker-controller"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
#: what the controller calls for the lab's kinds: each Create, the Endpoint's update on a re-run,
#: and AddTags, which SageMaker requires when a resource is created with tags (the lab's lineage)
SAGEMAKER_ACTIONS = (
    "sagemaker:CreateProcessingJob", "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateTrainingJob", "sagemaker:CreateModel", "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:CreateTransformJob",
    "sagemaker:AddTags",
)
PASS_ROLE = "iam:PassRole"
PASSED_TO_SAGEMAKER = [{"ContextKeyName": "iam:PassedToService", "ContextKeyType": "string",
                        "ContextKeyValues": [iamlib.SAGEMAKER_PRINCIPAL]}]


@dataclass
class Verdict:
    """What was found about the controller's role: passed, failed (with the fix), not judged."""

    role_arn: str | None = None
    service_account: str = f"{ACK_NAMESPACE}/{DEFAULT_SERVICE_ACCOUNT}"
    passed: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)   # (what is wrong, fix)
    unknown: list[str] = field(default_factory=list)   # IAM gave no answer
    pending: list[str] = field(default_factory=list)   # nothing to judge yet (no execution role)

    @property
    def ok(self) -> bool:
        """Nothing found wrong (parts may still be unjudged: see ``unknown``)."""
        return not self.problems


# -- the commands (the same builders serve the run, --explain and the doctor's remediations) ---
def role_arn_command(service_account: str = DEFAULT_SERVICE_ACCOUNT) -> Command:
    """The controller's role as its service account names it."""
    return cmd("kubectl", "-n", ACK_NAMESPACE, "get", "serviceaccount", service_account, "-o",
               "jsonpath={.metadata.annotations.eks\\.amazonaws\\.com/role-arn}",
               note="the ACK controller's IAM role (IRSA): it, not the pipeline's pods, calls "
               "SageMaker")


def sagemaker_check_command(role_arn) -> Command:
    """IAM's verdict on the SageMaker calls the controller makes for the lab."""
    return iamlib.simulate_command(role_arn, list(SAGEMAKER_ACTIONS),
                                   note="what the controller may call in SageMaker")


def pass_role_check_command(role_arn, execution_role_arn) -> Command:
    """IAM's verdict on the controller passing the execution role to SageMaker."""
    return cmd("aws", "iam", "simulate-principal-policy", "--policy-source-arn", role_arn,
               "--action-names", PASS_ROLE, "--resource-arns", execution_role_arn,
               "--context-entries", "ContextKeyName=iam:PassedToService,ContextKeyValues="
               f"{iamlib.SAGEMAKER_PRINCIPAL},ContextKeyType=string", "--query",
               "EvaluationResults[].[EvalActionName,EvalDecision]", "--output", "text",
               note="the controller hands the execution role to SageMaker with every job")


def pass_role_policy(execution_role_arn: str) -> dict:
    """An inline policy letting the controller pass exactly the execution role to SageMaker."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": PASS_ROLE, "Resource": execution_role_arn,
        "Condition": {"StringEquals": {"iam:PassedToService": iamlib.SAGEMAKER_PRINCIPAL}}}]}


# -- reading the controller's role ------------------------------------------------------------
def annotated_role(core, service_account: str, **kwargs) -> str | None:
    """The role the controller's service account is annotated with (None: no annotation)."""
    account = core.read_namespaced_service_account(service_account, ACK_NAMESPACE, **kwargs)
    return (account.metadata.annotations or {}).get(IRSA_ANNOTATION) or None


# -- judging the role ---------------------------------------------------------------------------
def judge(iam, role_arn: str, *, service_account: str, issuer: str | None,
          execution_role_arn: str | None) -> Verdict:
    """The controller's role judged as IAM will: it exists, trusts the controller, may act.

    ``issuer`` is the cluster's OIDC issuer URL (None: the trust cannot be judged);
    ``execution_role_arn`` the role the lab's jobs run as (None: PassRole is not judged).
    """
    verdict = Verdict(role_arn=role_arn, service_account=f"{ACK_NAMESPACE}/{service_account}")
    name = role_arn.rsplit("/", 1)[-1]
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) != "NoSuchEntity":
            raise
        verdict.problems.append((
            f"{verdict.service_account} names {role_arn}, which does not exist",
            f"kubectl -n {ACK_NAMESPACE} annotate serviceaccount {service_account} "
            f"{IRSA_ANNOTATION}=<role ARN> --overwrite, then restart the controller"))
        return verdict
    _judge_trust(iam, role, verdict, service_account, issuer)
    _judge_permissions(iam, role, verdict, execution_role_arn)
    return verdict


def _judge_trust(iam, role: dict, verdict: Verdict, service_account: str,
                 issuer: str | None) -> None:
    """The role's trust: the cluster's OIDC provider registered, the service account let in."""
    if not issuer:
        verdict.unknown.append("its trust policy (the cluster's OIDC issuer is not known)")
        return
    _, partition, _, _, account, _ = role["Arn"].split(":", 5)
    host = issuer.removeprefix("https://")
    try:
        providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    except Exception as exc:  # noqa: BLE001 - no answer: say so, guess nothing
        verdict.unknown.append(f"the IAM OIDC provider ({error_code(exc) or type(exc).__name__})")
        providers = None
    if providers is not None and not any(p["Arn"].endswith(f"oidc-provider/{host}")
                                         for p in providers):
        verdict.problems.append((
            f"the cluster's OIDC issuer {issuer} is not registered as an IAM OIDC provider, so "
            "no service account (the controller's included) can assume a role",
            "eksctl utils associate-iam-oidc-provider --cluster <cluster> --approve"))
    problem = iamlib.irsa_trust_problem(role["AssumeRolePolicyDocument"], account, issuer,
                                        ACK_NAMESPACE, service_account, partition)
    if problem:
        wanted = iamlib.irsa_trust(account, issuer, ACK_NAMESPACE, service_account, partition)
        verdict.problems.append((
            f"the trust policy of {role['RoleName']} {problem}, so the controller gets no AWS "
            "credentials",
            iamlib.update_trust_command(role["RoleName"], wanted).shell()))
    else:
        verdict.passed.append(f"trusts {ACK_NAMESPACE}/{service_account} through the cluster's "
                              "OIDC provider")


def _simulate(iam, role_arn: str, actions, resource: str | None = None,
              context: list | None = None) -> list[tuple[str, str]]:
    """(action, decision) for each action, from IAM's policy simulator."""
    kwargs = {"PolicySourceArn": role_arn, "ActionNames": list(actions)}
    if resource:
        kwargs["ResourceArns"] = [resource]
    if context:
        kwargs["ContextEntries"] = context
    results = iam.simulate_principal_policy(**kwargs)["EvaluationResults"]
    return [(r["EvalActionName"], r["EvalDecision"]) for r in results]


def _judge_permissions(iam, role: dict, verdict: Verdict, execution_role_arn: str | None) -> None:
    """SageMaker's calls and PassRole on the execution role, as IAM's simulator decides them."""
    arn, name = role["Arn"], role["RoleName"]
    try:
        decisions = _simulate(iam, arn, SAGEMAKER_ACTIONS)
    except Exception as exc:  # noqa: BLE001 - no verdict from IAM: say so, do not guess
        verdict.unknown.append(f"its SageMaker permissions (IAM's simulator answered "
                               f"{error_code(exc) or type(exc).__name__})")
    else:
        denied = [f"{action} ({decision})" for action, decision in decisions
                  if decision != "allowed"]
        if denied:
            verdict.problems.append((
                f"IAM denies {name}: {', '.join(denied)}",
                iamlib.attach_role_policy_command(
                    name, iamlib.managed_policy(iamlib.SAGEMAKER_FULL_NAME,
                                                arn.split(":")[1])).shell()
                + " (ACK's recommended policy), or grant those actions"))
        else:
            verdict.passed.append(f"may call SageMaker for the lab's {len(decisions)} actions")
    if not execution_role_arn or not str(execution_role_arn).startswith("arn:"):
        verdict.pending.append("iam:PassRole on the execution role (none chosen yet)")
        return
    try:
        decisions = _simulate(iam, arn, [PASS_ROLE], execution_role_arn, PASSED_TO_SAGEMAKER)
    except Exception as exc:  # noqa: BLE001
        verdict.unknown.append(f"iam:PassRole (IAM's simulator answered "
                               f"{error_code(exc) or type(exc).__name__})")
        return
    decision = decisions[0][1] if decisions else "implicitDeny"
    if decision != "allowed":
        fix = iamlib.put_role_policy_command(name, "labwiz-pass-execution-role",
                                             pass_role_policy(execution_role_arn))
        verdict.problems.append((
            f"IAM denies {name} iam:PassRole on the execution role {execution_role_arn} "
            f"({decision}): SageMaker refuses every job and model the controller creates",
            f"ask whoever owns the controller's role to allow it, e.g. {fix.shell()}"))
    else:
        verdict.passed.append(f"may pass {execution_role_arn.rsplit('/', 1)[-1]} to SageMaker")


def describe(verdict: Verdict) -> str:
    """One paragraph: what was found, for a log line or a doctor finding."""
    parts = [f"{verdict.service_account} uses {verdict.role_arn}"]
    if verdict.passed:
        parts.append("which " + "; ".join(verdict.passed))
    text = ", ".join(parts) + "."
    if verdict.problems:
        text += " " + " ".join(f"✘ {what}." for what, _ in verdict.problems)
    if verdict.unknown or verdict.pending:
        text += " Not judged: " + "; ".join(verdict.unknown + verdict.pending) + "."
    return text

