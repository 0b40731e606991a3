"""IAM judged by IAM and the learner's identity left alone; no stand-in data on real AWS; small
fixes (repair answers as YAML booleans, KUBECONFIG lists, partitions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.steps.conftest import commands, run_lab, state

LEARNER = "workshop-learner"
DENY_INVOKE = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"}]})


class _Recorder:
    """A reporter that keeps what it is told."""

    def __init__(self):
        self.lines, self.commands = [], []

    def log(self, message, level="info"):
        self.lines.append((level, message))

    def progress(self, *args, **kwargs):
        pass

    def command(self, command):
        self.commands.append(command.shell())

    def show(self, kind, data):
        pass

    def text(self) -> str:
        return "\n".join(m for _, m in self.lines)


def _ctx(tmp_path, target, *, assume_yes: bool, answer: bool = False, inputs=None):
    """A step context on ``target`` (a fresh state, the given confirmation answer)."""
    from wizard.ledger import Ledger
    from wizard.protocol import Context

    doc = {"steps": {}, "inputs": {}, "ledger": [], "lineage": "0123abcd-0000-4000-8000-000000000000"}
    asked = []

    def confirm(question):
        asked.append(question)
        return answer
    ctx = Context(state_dir=tmp_path, doc=doc, ledger=Ledger(doc, lambda: None), target=target,
                  inputs=inputs or {}, confirm=confirm, assume_yes=assume_yes)
    return ctx, asked


def _user_policies(iam) -> tuple:
    """Everything that makes up the learner's own permissions."""
    return (sorted(iam.list_user_policies(UserName=LEARNER)["PolicyNames"]),
            sorted(p["PolicyArn"] for p in
                   iam.list_attached_user_policies(UserName=LEARNER)["AttachedPolicies"]))


def test_invoke_denied_by_a_group_policy_is_reported_and_the_learner_untouched(lab, aws):
    iam = aws("iam")
    iam.create_group(GroupName="no-endpoints")
    iam.put_group_policy(GroupName="no-endpoints", PolicyName="deny-invoke",
                         PolicyDocument=DENY_INVOKE)
    iam.add_user_to_group(GroupName="no-endpoints", UserName=LEARNER)
    before = _user_policies(iam)
    try:
        result = run_lab(lab, "--only", "credentials")
    finally:
        iam.remove_user_from_group(GroupName="no-endpoints", UserName=LEARNER)
        iam.delete_group_policy(GroupName="no-endpoints", PolicyName="deny-invoke")
        iam.delete_group(GroupName="no-endpoints")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "denies InvokeEndpoint to user workshop-learner explicitly" in result.stdout
    assert "deny-invoke" in result.stdout
    assert "aws iam simulate-principal-policy --policy-source-arn" in commands(lab, "credentials")
    assert _user_policies(iam) == before, "the learner's own identity was changed"
    assert not [r for r in state(lab)["ledger"] if r["kind"] == "iam-policy"]


def test_allowed_learner_is_judged_by_the_simulator(lab, aws):
    result = run_lab(lab, "--only", "credentials")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "IAM allows user workshop-learner to call InvokeEndpoint" in result.stdout
    script = (lab / "commands" / "credentials.sh").read_text()
    assert "aws iam simulate-principal-policy" in script and "put-user-policy" not in script


@pytest.fixture
def bounded_role(aws):
    """A role with SageMaker full access but a permissions boundary allowing only S3."""
    iam = aws("iam")
    boundary = iam.create_policy(PolicyName="only-s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                "Resource": "*"}]}))["Policy"]["Arn"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="learner-sso-role", AssumeRolePolicyDocument=trust,
                           PermissionsBoundary=boundary)["Role"]
    iam.attach_role_policy(RoleName="learner-sso-role",
                           PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    yield role
    iam.detach_role_policy(RoleName="learner-sso-role",
                           PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    for name in iam.list_role_policies(RoleName="learner-sso-role")["PolicyNames"]:
        iam.delete_role_policy(RoleName="learner-sso-role", PolicyName=name)
    iam.delete_role(RoleName="learner-sso-role")
    iam.delete_policy(PolicyArn=boundary)


def test_invoke_outside_a_boundary_is_reported_and_never_granted_under_yes(
        bounded_role, sandbox_info, aws, tmp_path):
    from wizard import access
    from wizard.preflight import Identity
    from wizard.target import sandbox_target

    iam = aws("iam")
    target = sandbox_target(sandbox_info)
    me = Identity(account="123456789012",
                  arn="arn:aws:sts::123456789012:assumed-role/learner-sso-role/me@example.com")
    ctx, asked = _ctx(tmp_path, target, assume_yes=True)
    reporter = _Recorder()
    decision = access.invoke_permission(ctx, reporter, me, step="credentials")
    assert decision == "implicitDeny"
    assert asked == [], "--yes must not answer a change to the learner's own identity"
    assert "outside your permissions boundary" in reporter.text()
    assert "aws iam put-role-policy --role-name learner-sso-role" in reporter.text()
    assert iam.list_role_policies(RoleName="learner-sso-role")["PolicyNames"] == []
    assert not any("put-role-policy" in c for c in reporter.commands)


def test_a_grant_the_learner_says_yes_to_is_made_and_checked_by_iam(bounded_role, sandbox_info,
                                                                     aws, tmp_path):
    from wizard import access
    from wizard.preflight import Identity
    from wizard.target import sandbox_target

    iam = aws("iam")
    iam.delete_role_permissions_boundary(RoleName="learner-sso-role")
    target = sandbox_target(sandbox_info)
    me = Identity(account="123456789012",
                  arn="arn:aws:sts::123456789012:assumed-role/learner-sso-role/me")
    # SageMaker full access allows InvokeEndpoint: nothing to ask
    ctx, asked = _ctx(tmp_path, target, assume_yes=False, answer=True)
    assert access.invoke_permission(ctx, _Recorder(), me, step="credentials") == "allowed"
    assert asked == []
    full = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    iam.detach_role_policy(RoleName="learner-sso-role", PolicyArn=full)
    try:
        reporter = _Recorder()
        assert access.invoke_permission(ctx, reporter, me, step="credentials") == "granted"
    finally:
        iam.attach_role_policy(RoleName="learner-sso-role", PolicyArn=full)
    assert len(asked) == 1 and "put-role-policy --role-name learner-sso-role" in asked[0]
    assert iam.list_role_policies(RoleName="learner-sso-role")["PolicyNames"] == [
        access.INVOKE_POLICY]
    assert [r for r in ctx.ledger.entries(kind="iam-policy")
            if r["name"] == f"role/learner-sso-role/{access.INVOKE_POLICY}"]


def test_mnist_unavailable_outside_the_sandbox_fails_saying_what_to_do(tmp_path, monkeypatch):
    """A non-sandbox target where neither the lab's asset nor the sample files can be had."""
    from moto import mock_aws

    from wizard import s3data
    from wizard.errors import StepError
    from wizard.target import Target

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        ctx, _ = _ctx(tmp_path, Target(mode="aws", region="eu-west-1"), assume_yes=True)
        reporter = _Recorder()
        with pytest.raises(StepError) as caught:
            s3data.obtain_mnist(ctx, reporter, None)
    error = caught.value
    assert "mnist.pkl.gz could not be downloaded" in error.message
    assert s3data.LAB_ASSET_URI in error.message and s3data.SAMPLE_FILES_URI in error.message
    assert "mnist_path" in error.remediation and "offline" in error.remediation
    assert not (tmp_path / "data" / "mnist.pkl.gz").exists(), "no stand-in may be left behind"
    assert "stand-in" not in reporter.text()


def test_offline_digits_on_real_aws_only_when_named_and_never_reused_unasked(tmp_path, monkeypatch):
    from moto import mock_aws

    from wizard import s3data
    from wizard.errors import StepError
    from wizard.target import Target

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        ctx, _ = _ctx(tmp_path, Target(mode="aws", region="eu-west-1"), assume_yes=True)
        reporter = _Recorder()
        path = s3data.obtain_mnist(ctx, reporter, s3data.OFFLINE)
        s3data.check_mnist(path)
        assert "you asked for them" in reporter.text()
        # the next run without the answer must not take the cached stand-in for MNIST
        with pytest.raises(StepError):
            s3data.obtain_mnist(ctx, _Recorder(), None)


def test_offline_answer_is_accepted_by_the_input():
    from steps.data_upload import _existing_path

    assert _existing_path("Offline", None) == "offline"


@pytest.mark.parametrize("value, expected", [(True, "yes"), (False, "no"), ("ask", "ask"),
                                             ("YES", "yes")])
def test_repair_answers_read_as_yaml_booleans(value, expected, tmp_path):
    import yaml

    from wizard.repairs import confirm_repair, repair_answer, repair_spec

    assert repair_answer(value) == expected
    assert repair_spec().validate(value, None) == expected
    answers = yaml.safe_load(f"repair: {'yes' if value is True else 'no'}")
    assert isinstance(answers["repair"], bool)  # YAML 1.1: this is why it matters
    ctx, asked = _ctx(tmp_path, None, assume_yes=False, answer=False,
                      inputs={"repair": answers["repair"]})
    assert confirm_repair(ctx, "repair?") is answers["repair"] and asked == []


def test_kubeconfig_with_several_paths_is_merged_as_kubectl_merges_it(tmp_path, monkeypatch):
    import yaml

    from wizard.clients import Clients
    from wizard.target import aws_target

    first = {"apiVersion": "v1", "kind": "Config", "current-context": "lab",
             "clusters": [], "contexts": [], "users": []}
    second = {"apiVersion": "v1", "kind": "Config",
              "clusters": [{"name": "lab", "cluster": {"server": "https://lab.example:6443"}}],
              "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "me"}}],
              "users": [{"name": "me", "user": {"token": "t"}}]}
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump(first))
    b.write_text(yaml.safe_dump(second))
    monkeypatch.setenv("KUBECONFIG", f"{a}:{tmp_path / 'missing.yaml'}:{b}")
    target = aws_target("eu-west-1")
    assert Clients(target).kube.configuration.host == "https://lab.example:6443"


def test_explain_names_managed_policies_in_the_regions_partition(tmp_path):
    from tests.conftest import run_labwiz

    result = run_labwiz(["--state-dir", str(tmp_path / "s"), "run", "--explain", "--region",
                         "cn-north-1", "--only", "credentials"], env={"COLUMNS": "1000"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "arn:aws-cn:iam::aws:policy/AmazonSageMakerFullAccess" in result.stdout
    assert "arn:aws:iam::aws:policy/" not in result.stdout
    assert "arn:aws-cn:s3:::" in result.stdout
