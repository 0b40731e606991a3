"""Fidelity of the running sandbox: the learner's own IAM identity, the pods' kubeconfig over
TLS with RBAC, and the ACK controller's Deployment that really pauses the controller when it is
scaled to 0 (and stays paused across a restart)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

import pytest

from sandbox_helpers import boto, sandbox_cli, sandbox_env, wait_for

pytestmark = pytest.mark.timeout(300)
NS = "kubeflow-user-example-com"
GROUP = "sagemaker.services.k8s.aws"
needs_kubectl = pytest.mark.tools("kubectl")  # missing: the test fails naming it


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One sandbox for the module, started with the real CLI; stopped at the end."""
    state_dir = tmp_path_factory.mktemp("fidelity") / "state"
    result = sandbox_cli(state_dir, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    home = tmp_path_factory.mktemp("home")  # kubectl's cache, not the host's ~/.kube
    yield state_dir, home
    sandbox_cli(state_dir, "down")


def _info(state_dir):
    """sandbox.json as the daemon wrote it."""
    return json.loads((state_dir / "sandbox" / "sandbox.json").read_text())


def _kubectl(home, kubeconfig, *args, check=True, stdin=None):
    """The real kubectl with one kubeconfig and a private HOME."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    proc = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True,
                          timeout=60, input=stdin)
    if check:
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc


def test_the_learner_is_an_iam_user_with_workshop_policies(sandbox):
    state_dir, _ = sandbox
    env, info = sandbox_env(state_dir), _info(state_dir)
    assert env["AWS_ACCESS_KEY_ID"] == info["credentials"]["access_key_id"] != "testing"
    me = boto("sts", env).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{info['account_id']}:user/workshop-learner"
    assert me["Arn"] == info["learner_user_arn"]
    iam = boto("iam", env)
    user = iam.get_user(UserName="workshop-learner")["User"]
    assert user["Arn"] == me["Arn"] and user["UserId"] == me["UserId"]
    keys = iam.list_access_keys(UserName="workshop-learner")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [env["AWS_ACCESS_KEY_ID"]]
    attached = {p["PolicyName"] for p in
                iam.list_attached_user_policies(UserName="workshop-learner")["AttachedPolicies"]}
    assert {"IAMFullAccess", "AmazonS3FullAccess", "AmazonSageMakerFullAccess",
            "CloudWatchLogsReadOnlyAccess"} <= attached
    inline = iam.get_user_policy(UserName="workshop-learner", PolicyName="workshop-eks-read")
    actions = inline["PolicyDocument"]["Statement"][0]["Action"]
    assert "eks:DescribeCluster" in actions
    # what the credentials step does: find sagemaker:InvokeEndpoint in the user's policies
    from wizard.aws import iam as iamlib
    from wizard.access import _policies_of

    assert iamlib.action_allowed(_policies_of(iam, "user", "workshop-learner"),
                                 "sagemaker:InvokeEndpoint")


def test_the_secret_is_kept_owner_only_and_out_of_the_log(sandbox):
    state_dir, _ = sandbox
    info = _info(state_dir)
    secret = info["credentials"]["secret_access_key"]
    assert secret and secret != "testing"
    sdir = state_dir / "sandbox"
    for path in (sdir / "sandbox.json", sdir / "aws" / "provisioned.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert secret not in (sdir / "daemon.log").read_text()
    assert secret not in (sdir / "runtime.json").read_text()
    status = sandbox_cli(state_dir, "status", "--json")
    assert status.returncode == 0 and secret not in status.stdout
    assert json.loads(status.stdout)["info"]["credentials"]["access_key_id"] == \
        info["credentials"]["access_key_id"]


def test_the_old_test_keys_still_reach_moto(sandbox):
    state_dir, _ = sandbox
    env = dict(sandbox_env(state_dir), AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing")
    assert boto("sts", env).get_caller_identity()["Account"] == _info(state_dir)["account_id"]
    assert boto("s3", env).head_bucket(Bucket=_info(state_dir)["bucket"])


@needs_kubectl
def test_kubectl_with_the_pod_kubeconfig_is_the_profile_editor_under_rbac(sandbox):
    state_dir, home = sandbox
    info = _info(state_dir)
    pod_kc, admin_kc = info["pod_kubeconfig"], info["kubeconfig"]
    whoami = _kubectl(home, pod_kc, "auth", "whoami", "-o", "json")
    user = json.loads(whoami.stdout)["status"]["userInfo"]["username"]
    assert user == f"system:serviceaccount:{NS}:default-editor"
    _kubectl(home, pod_kc, "get", "pods", "-n", NS)
    can = _kubectl(home, pod_kc, "auth", "can-i", "create", f"trainingjobs.{GROUP}", "-n", NS,
                   check=False)
    assert can.stdout.strip() == "no"
    job = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "TrainingJob",
           "metadata": {"name": "rbac-probe", "namespace": NS}, "spec": {}}
    denied = _kubectl(home, pod_kc, "create", "-f", "-", "--dry-run=server",
                      stdin=json.dumps(job), check=False)
    assert denied.returncode == 1 and "forbidden" in denied.stderr.lower(), denied.stderr
    _kubectl(home, admin_kc, "create", "role", "ack-jobs", "-n", NS, "--verb=create,get,list",
             f"--resource=trainingjobs.{GROUP}")
    _kubectl(home, admin_kc, "create", "rolebinding", "ack-jobs", "-n", NS, "--role=ack-jobs",
             f"--serviceaccount={NS}:default-editor")
    can = _kubectl(home, pod_kc, "auth", "can-i", "create", f"trainingjobs.{GROUP}", "-n", NS,
                   check=False)
    assert can.stdout.strip() == "yes"


def _model(info, name):
    """A Model custom resource the ACK controller would reconcile."""
    return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Model",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"modelName": name, "executionRoleARN": info["execution_role_arn"],
                     "primaryContainer": {
                         "image": "664544806723.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1",
                         "modelDataURL": f"s3://{info['bucket']}/none/model.tar.gz"}}}


def _cr_status(home, kc, name):
    """The status of Model ``name`` (empty until a controller touches it)."""
    proc = _kubectl(home, kc, "get", f"models.{GROUP}", name, "-n", NS, "-o", "json")
    return json.loads(proc.stdout).get("status") or {}


def _deployment(home, kc):
    """The ACK controller's Deployment."""
    return json.loads(_kubectl(home, kc, "get", "deployment", "ack-sagemaker-controller", "-n",
                               "ack-system", "-o", "json").stdout)


@needs_kubectl
def test_scaling_the_ack_deployment_pauses_and_resumes_the_controller(sandbox):
    state_dir, home = sandbox
    info = _info(state_dir)
    kc = info["kubeconfig"]
    _kubectl(home, kc, "scale", "deployment/ack-sagemaker-controller", "-n", "ack-system",
             "--replicas=0")
    wait_for("the deployment to show 0 ready replicas",
             lambda: (_deployment(home, kc)["status"].get("readyReplicas") == 0
                      and _deployment(home, kc)["status"].get("availableReplicas") == 0))
    log = state_dir / "sandbox" / "daemon.log"
    assert "controller paused" in log.read_text()
    status = json.loads(sandbox_cli(state_dir, "status", "--json").stdout)
    ack = status["services"]["ack"]
    assert ack["healthy"] and "paused" in (ack["detail"] or ""), ack
    # paused survives a restart: the controller is not started while replicas is 0
    key_before = info["credentials"]["access_key_id"]
    assert sandbox_cli(state_dir, "down").returncode == 0
    up = sandbox_cli(state_dir, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    info = _info(state_dir)
    assert info["credentials"]["access_key_id"] == key_before  # the learner keeps their key
    dep = _deployment(home, kc)
    assert dep["spec"]["replicas"] == 0 and dep["status"]["readyReplicas"] == 0
    _kubectl(home, kc, "create", "-f", "-", stdin=json.dumps(_model(info, "paused")))
    # a running controller stamps a new resource within a pass (well under a second here);
    # paused, nothing touches it
    time.sleep(3)
    assert _cr_status(home, kc, "paused") == {}
    _kubectl(home, kc, "scale", "deployment/ack-sagemaker-controller", "-n", "ack-system",
             "--replicas=1")
    wait_for("the controller to reconcile the model after resuming",
             lambda: _cr_status(home, kc, "paused").get("conditions"), timeout=60)
    dep = _deployment(home, kc)
    assert dep["status"]["readyReplicas"] == 1 and dep["status"]["availableReplicas"] == 1
    status = json.loads(sandbox_cli(state_dir, "status", "--json").stdout)
    assert status["services"]["ack"]["detail"] is None and status["healthy"]


def test_after_a_restart_the_key_is_still_the_users_only_key(sandbox):
    # runs after the restart above (pytest keeps file order)
    state_dir, _ = sandbox
    env = sandbox_env(state_dir)
    keys = boto("iam", env).list_access_keys(UserName="workshop-learner")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [env["AWS_ACCESS_KEY_ID"]]
    assert boto("sts", env).get_caller_identity()["Arn"].endswith(":user/workshop-learner")
