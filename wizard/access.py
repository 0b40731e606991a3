"""The credentials the lab needs, each created or reused, tagged, and written to the ledger.

* the SageMaker execution role (trusting ``sagemaker.amazonaws.com``);
* only when ``pod_access`` asks for it (the lab's own components make no AWS call from a pod):
  the pipeline pods' AWS access, an IRSA role annotated on their service account, or the lab's
  ``aws-secret`` (an IAM user's key in a Secret, shown once and never stored by the wizard);
* ``sagemaker:InvokeEndpoint`` for the identity that will test the endpoint.
"""

from __future__ import annotations

import base64
import json

from wizard import k8s, validate
from wizard.aws import iam as iamlib
from wizard.errors import InputError, StepError
from wizard.preflight import Identity
from wizard.protocol import Command, Context, Expand, Reporter, Resource, cmd
from wizard.repairs import HOW_TO_ALLOW, confirm_repair

SECRET_NAME = "aws-secret"
POD_POLICY = "labwiz-pod-access"
BUCKET_POLICY = "labwiz-lab-bucket"
INVOKE_POLICY = "labwiz-sagemaker-invoke"
#: the shell variable the printed ``kubectl create secret`` reads the new secret key from
SECRET_KEY_VAR = "LAB_SECRET_ACCESS_KEY"


# -- the commands of what this module does (the same builders serve the run and --explain) -----
def get_role_command(name: str, note: str = "") -> Command:
    """``aws iam get-role``."""
    return cmd("aws", "iam", "get-role", "--role-name", name, note=note)


def secret_user_commands(user: str, partition: str, tags: dict, note: str = "") -> list[Command]:
    """The IAM user behind the ``aws-secret``: create it, give it SageMaker, make a key."""
    return [
        cmd("aws", "iam", "create-user", "--user-name", user, "--tags", *iamlib.tag_args(tags),
            note=note),
        cmd("aws", "iam", "attach-user-policy", "--user-name", user, "--policy-arn",
            iamlib.managed_policy(iamlib.SAGEMAKER_FULL_NAME, partition)),
        create_key_command(user),
    ]


def create_key_command(user: str) -> Command:
    """``aws iam create-access-key``; its secret is shown once and goes into the Secret."""
    return cmd("aws", "iam", "create-access-key", "--user-name", user,
               note=f"the SecretAccessKey it prints is shown once: put it in ${SECRET_KEY_VAR} "
               "for the command below")


def secret_command(namespace: str, key_id) -> Command:
    """``kubectl create secret generic aws-secret`` with the key id and ``$LAB_SECRET_ACCESS_KEY``."""
    return cmd("kubectl", "create", "secret", "generic", SECRET_NAME, "-n", namespace,
               Expand(f"--from-literal=AWS_ACCESS_KEY_ID={key_id}"),
               Expand(f"--from-literal=AWS_SECRET_ACCESS_KEY=${SECRET_KEY_VAR}"))


def _short(ctx: Context) -> str:
    return ctx.ledger.lineage.replace("-", "")[:8]


def execution_role(ctx: Context, reporter: Reporter, me: Identity, step: str) -> str:
    """The execution role's ARN: the one given (checked, repaired after asking) or a new one."""
    iam = ctx.clients.aws("iam")
    bucket = ctx.input("bucket")
    given = ctx.input("execution_role_arn")
    if given:
        name = validate.role_name_of(given)
        partition = given.split(":")[1]
        if partition != me.partition:
            raise InputError(
                f"{given} is in the partition '{partition}', but your AWS identity ({me.arn}) is in "
                f"'{me.partition}'; a role of another partition cannot be used.",
                remediation=f"Use arn:{me.partition}:iam::{me.account}:role/{name} (the ARN 'aws iam "
                f"get-role --role-name {name}' prints), or leave execution_role_arn empty.")
        reporter.command(get_role_command(name))
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            raise InputError(f"The role {given} does not exist in account {me.account}.",
                             remediation="Check the ARN ('aws iam list-roles --query "
                             "Roles[].Arn'), or leave execution_role_arn empty to create one.") from None
        if role["Arn"] != given:
            raise InputError(f"{given} does not match the role's real ARN {role['Arn']}.",
                             remediation=f"Use {role['Arn']} (the path is part of the ARN).")
        kind = iamlib.trust_kind(role["AssumeRolePolicyDocument"])
        if kind == "irsa":
            raise InputError(
                f"{given} is a pod role (it trusts the cluster's OIDC provider), not a SageMaker "
                "execution role.",
                remediation="Give the role SageMaker assumes: it trusts sagemaker.amazonaws.com "
                "(in the lab account it is called SageMakerExecutionRole), or leave the field "
                "empty and the wizard creates one.")
        if kind != "sagemaker":
            _repair_trust(ctx, reporter, role)
        reporter.log(f"Using execution role {given}.", "success")
        return given
    managed = [iamlib.managed_policy(iamlib.SAGEMAKER_FULL_NAME, me.partition)]
    if ctx.input("policy_mode") == "full":
        managed.append(iamlib.managed_policy(iamlib.S3_FULL_NAME, me.partition))
    role = iamlib.ensure_role(
        ctx, reporter, name=f"labwiz-sagemaker-execution-{_short(ctx)}",
        trust=iamlib.sagemaker_trust(), description="SageMaker execution role for the labwiz lab",
        managed=managed, inline={BUCKET_POLICY: iamlib.bucket_access(bucket, me.partition)},
        step=step, trust_problem=_sagemaker_trust_problem)
    return role["Arn"]


def _sagemaker_trust_problem(document) -> str | None:
    """Why a trust policy does not let SageMaker assume the role (None when it does)."""
    if iamlib.trust_kind(document) == "sagemaker":
        return None
    return f"does not trust {iamlib.SAGEMAKER_PRINCIPAL}"


def _repair_trust(ctx: Context, reporter: Reporter, role: dict) -> None:
    """Add sagemaker.amazonaws.com to a role's trust policy, after the user confirms."""

    name = role["RoleName"]
    # as it was, before the statement is added below (as_doc may hand back the same dict)
    original = json.dumps(iamlib.as_doc(role["AssumeRolePolicyDocument"]))  # its key order kept
    document = json.loads(original)
    document.setdefault("Statement", [])
    if isinstance(document["Statement"], dict):
        document["Statement"] = [document["Statement"]]
    document["Statement"].append(iamlib.sagemaker_trust()["Statement"][0])
    text = json.dumps(document)
    fix = iamlib.update_trust_command(name, document)
    if not confirm_repair(ctx, f"The role {name} does not trust sagemaker.amazonaws.com. Add "
                          "SageMaker to its trust policy?"):
        raise InputError(f"The role {role['Arn']} does not trust sagemaker.amazonaws.com, so "
                         "SageMaker cannot assume it.",
                         remediation="Choose another role, leave execution_role_arn empty to "
                         "create one, or allow the repair. " + HOW_TO_ALLOW + fix.shell())
    reporter.command(fix)
    # the learner's role: its trust policy as it was is recorded first, and cleanup puts it back
    ctx.ledger.record(Resource(kind="iam-trust", name=name, arn=role["Arn"], step="credentials",
                               details={"previous": original, "value": text}))
    ctx.clients.aws("iam").update_assume_role_policy(RoleName=name, PolicyDocument=text)
    reporter.log(f"Added sagemaker.amazonaws.com to the trust policy of {name}; cleanup puts the "
                 "original back.", "warning")


def pod_policy(bucket: str, partition: str = "aws") -> dict:
    """The inline policy of the pods' role: follow SageMaker jobs and their logs, read the bucket."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:Describe*", "sagemaker:List*",
                                       "sagemaker:InvokeEndpoint", "logs:GetLogEvents",
                                       "logs:DescribeLogStreams", "logs:FilterLogEvents"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"]},
    ]}


def pod_role(ctx: Context, reporter: Reporter, me: Identity, issuer: str, namespace: str,
             service_account: str, step: str) -> str:
    """The IRSA role for the pipeline's pods, annotated on their service account."""
    bucket = ctx.input("bucket")
    managed = ([iamlib.managed_policy(iamlib.SAGEMAKER_FULL_NAME, me.partition)]
               if ctx.input("policy_mode") == "full" else [])
    inline = {POD_POLICY: pod_policy(bucket, me.partition)}
    role = iamlib.ensure_role(
        ctx, reporter, name=f"labwiz-kfp-pod-{_short(ctx)}",
        trust=iamlib.irsa_trust(me.account, issuer, namespace, service_account, me.partition),
        description=f"IRSA role of {namespace}/{service_account} for the labwiz lab",
        managed=managed, inline=inline, step=step,
        trust_problem=lambda doc: iamlib.irsa_trust_problem(
            doc, me.account, issuer, namespace, service_account, me.partition))
    k8s.ensure_annotation(ctx, reporter, namespace, service_account, k8s.IRSA_ANNOTATION,
                          role["Arn"], step=step)
    return role["Arn"]


def aws_secret(ctx: Context, reporter: Reporter, me: Identity, namespace: str, step: str) -> str:
    """The lab's ``aws-secret``: an IAM user's access key in a Secret of the run's namespace.

    The secret key goes from IAM straight into the Kubernetes Secret; the wizard shows only the
    key id and never stores the key. An existing secret whose key still belongs to our user is kept.
    """
    iam = ctx.clients.aws("iam")
    user = f"labwiz-kfp-{_short(ctx)}"
    create, attach, create_key = secret_user_commands(user, me.partition, ctx.ledger.tags())
    try:
        iam.get_user(UserName=user)
    except iam.exceptions.NoSuchEntityException:
        reporter.command(create)
        with ctx.ledger.intent(Resource(kind="iam-user", name=user, step=step)):
            iam.create_user(UserName=user, Tags=iamlib.tag_list(ctx.ledger.tags()))
    reporter.command(attach)
    iam.attach_user_policy(UserName=user, PolicyArn=attach.argv[-1])
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    current = k8s.secret_keys(ctx, namespace, SECRET_NAME) or {}
    if current.get("AWS_ACCESS_KEY_ID") in {k["AccessKeyId"] for k in keys}:
        reporter.log(f"{namespace}/{SECRET_NAME} holds a key of {user}; keeping it.")
        return SECRET_NAME
    for old in keys:  # keys whose secret we no longer have are useless: replace them
        iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
        ctx.ledger.mark_deleted("iam-access-key", old["AccessKeyId"])
    reporter.command(create_key)
    from wizard.secrets import Secret

    # the key's id is the server's: the intent names the user, the confirmation the key
    with ctx.ledger.intent(Resource(kind="iam-access-key", name=f"{user}/<new key>", step=step,
                                    details={"user": user})) as made:
        key = iam.create_access_key(UserName=user)["AccessKey"]
        made.name = key["AccessKeyId"]
    secret_key = Secret(key["SecretAccessKey"])
    _put_secret(ctx, reporter, namespace, key["AccessKeyId"], secret_key, step)
    reporter.log(f"Access key {key['AccessKeyId']} of {user} is in {namespace}/{SECRET_NAME}; the "
                 "secret key was not shown or stored anywhere else.", "success")
    return SECRET_NAME


def _put_secret(ctx: Context, reporter: Reporter, namespace: str, key_id: str, secret_key,
                step: str) -> None:
    from kubernetes import client

    from wizard.ledger import LABEL_KEY

    data = {"AWS_ACCESS_KEY_ID": base64.b64encode(key_id.encode()).decode(),
            "AWS_SECRET_ACCESS_KEY": base64.b64encode(secret_key.reveal().encode()).decode()}
    body = client.V1Secret(metadata=client.V1ObjectMeta(
        name=SECRET_NAME, namespace=namespace, labels={LABEL_KEY: ctx.ledger.lineage}),
        type="Opaque", data=data)
    reporter.command(secret_command(namespace, key_id))
    core = ctx.clients.core_v1()
    name = f"{namespace}/{SECRET_NAME}"
    try:
        with ctx.ledger.intent(Resource(kind="k8s-secret", name=name, namespace=namespace,
                                        step=step)):
            core.create_namespaced_secret(namespace, body)
        return
    except k8s.api_exception() as exc:
        if exc.status != 409:
            raise k8s.explain(exc, f"creating secret {name}") from None
    if not ctx.ledger.find("k8s-secret", name):
        if not confirm_repair(ctx, f"{name} exists with another key; replace it? (the wizard "
                              "keeps a copy and puts yours back at cleanup)"):
            raise StepError(f"{name} exists and holds another key.",
                            remediation="Use pod_access: none (the lab's own components need no "
                            "aws-secret), or allow the replacement. "
                            + HOW_TO_ALLOW + f"kubectl delete secret {SECRET_NAME} -n "
                            f"{namespace}, then run the step again.")
        # the learner's: copied aside first (in the cluster: its keys never leave it), so
        # cleanup can put it back exactly as it was
        from wizard.cleanup.kube import backup_secret

        backup = backup_secret(ctx, reporter, namespace, SECRET_NAME, step)
        ctx.ledger.record(Resource(kind="k8s-secret", name=name, namespace=namespace, step=step,
                                   details={"existed_before": True, "backup": backup}))
    core.replace_namespaced_secret(SECRET_NAME, namespace, body)


INVOKE_ACTION = "sagemaker:InvokeEndpoint"


def invoke_check_command(source_arn) -> Command:
    """IAM's own verdict on whether an identity may call InvokeEndpoint."""
    return iamlib.simulate_command(
        source_arn, [INVOKE_ACTION],
        note="IAM's policy simulator: it weighs groups, permissions boundaries and denies "
        "(an assumed role: give its role ARN, arn:<partition>:iam::<account>:role/<name>)")


def invoke_grant_command(kind: str, name: str) -> Command:
    """The inline policy that lets a user or role call InvokeEndpoint (only run after asking)."""
    return cmd("aws", "iam", f"put-{kind}-policy", f"--{kind}-name", name, "--policy-name",
               INVOKE_POLICY, "--policy-document", json.dumps(iamlib.invoke_endpoint()))


def _source_arn(iam, me: Identity, kind: str, name: str) -> str:
    """The IAM ARN the simulator takes: the user's, or the role's behind an assumed-role session."""
    if kind == "user":
        return iam.get_user(UserName=name)["User"]["Arn"]
    return iam.get_role(RoleName=name)["Role"]["Arn"]


def simulate(iam, source_arn: str, action: str) -> tuple[str, list[str]]:
    """IAM's decision for ``action`` by ``source_arn``: (``allowed`` | ``explicitDeny`` |
    ``implicitDeny``, the ids of the statements that decided it)."""
    answer = iam.simulate_principal_policy(PolicySourceArn=source_arn, ActionNames=[action])
    result = answer["EvaluationResults"][0]
    matched = [m.get("SourcePolicyId") or "?" for m in result.get("MatchedStatements") or []]
    if result.get("PermissionsBoundaryDecisionDetail", {}).get("AllowedByPermissionsBoundary") is False:
        matched.append("permissions boundary")
    return result["EvalDecision"], matched


def invoke_permission(ctx: Context, reporter: Reporter, me: Identity, step: str) -> str:
    """Whether the identity that tests the endpoint may call ``sagemaker:InvokeEndpoint``.

    IAM's policy simulator decides (it sees group policies, permissions boundaries and explicit
    denies, which reading the identity's own policies misses). The learner's own identity is
    changed only when they say yes to the exact command, and never under ``--yes``: otherwise
    the command is printed for them to run. Returns the decision (``allowed``, ``explicitDeny``,
    ``implicitDeny``, ``granted`` or ``unknown``).
    """
    entity = me.iam_entity
    iam = ctx.clients.aws("iam")
    if entity is None:
        reporter.log(f"Cannot check InvokeEndpoint for {me.arn} (not an IAM user or role).", "warning")
        return "unknown"
    kind, name = entity
    try:
        source = _source_arn(iam, me, kind, name)
        check = invoke_check_command(source)
        reporter.command(check)
        decision, matched = simulate(iam, source, INVOKE_ACTION)
    except Exception as exc:  # noqa: BLE001 - no verdict: say so, change nothing
        from wizard.aws.errors import error_code

        reporter.log(f"Could not ask IAM whether {kind} {name} may call InvokeEndpoint "
                     f"({error_code(exc) or type(exc).__name__}); if the endpoint test is "
                     f"denied, run: {invoke_check_command(me.arn).shell()}", "warning")
        return "unknown"
    if decision == "allowed":
        reporter.log(f"IAM allows {kind} {name} to call InvokeEndpoint.")
        return decision
    grant = invoke_grant_command(kind, name)
    if decision == "explicitDeny":
        reporter.log(f"IAM denies InvokeEndpoint to {kind} {name} explicitly ("
                     f"{', '.join(matched) or 'a deny statement, boundary or SCP'}); an added "
                     "Allow cannot lift a deny. The endpoint test will be denied until the "
                     "deny is removed (ask your administrator).", "warning")
        return decision
    where = (" (outside your permissions boundary)" if "permissions boundary" in matched else "")
    if not ctx.confirm_own_change(
            f"{kind.title()} {name} may not call sagemaker:InvokeEndpoint{where}. Add this inline "
            f"policy to your own identity? {grant.shell()}"):
        reporter.log(f"{kind.title()} {name} may not call InvokeEndpoint{where}; your identity "
                     "was not changed. The endpoint test will be denied until you allow it, e.g. "
                     f"with: {grant.shell()}", "warning")
        return decision
    reporter.command(grant)
    document = json.dumps(iamlib.invoke_endpoint())
    with ctx.ledger.intent(Resource(kind="iam-policy", name=f"{kind}/{name}/{INVOKE_POLICY}",
                                    step=step, details={"on": kind, "entity": name,
                                                        "policy": INVOKE_POLICY})):
        if kind == "user":
            iam.put_user_policy(UserName=name, PolicyName=INVOKE_POLICY, PolicyDocument=document)
        else:
            iam.put_role_policy(RoleName=name, PolicyName=INVOKE_POLICY, PolicyDocument=document)
    after, _ = simulate(iam, source, INVOKE_ACTION)
    if after != "allowed":
        reporter.log(f"Added {INVOKE_POLICY} to {kind} {name}, but IAM still says {after} "
                     "(a permissions boundary or an SCP limits it).", "warning")
    return "granted" if after == "allowed" else after


def _policies_of(iam, kind: str, name: str) -> list:
    """Every policy document attached to or inline in a user or role."""
    documents = []
    if kind == "user":
        attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
        inline = [iam.get_user_policy(UserName=name, PolicyName=p)["PolicyDocument"]
                  for p in iam.list_user_policies(UserName=name)["PolicyNames"]]
    else:
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        inline = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                  for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
    for policy in attached:
        meta = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]
        documents.append(iam.get_policy_version(PolicyArn=policy["PolicyArn"],
                                                VersionId=meta["DefaultVersionId"])
                         ["PolicyVersion"]["Document"])
    return documents + inline
