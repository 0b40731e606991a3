"""The sandbox as a learner meets it: ``labwiz sandbox up`` starts the real daemon, and the
aws CLI, plain boto3, kubectl and kfp reach it with nothing but ``labwiz sandbox env``; then
restarts (clean and SIGKILL), a second ``up``, faults at run time and ``reset``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from sandbox_helpers import aws_health, boto, sandbox_cli, sandbox_env, wait_for

pytestmark = pytest.mark.timeout(300)
NS = "kubeflow-user-example-com"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One sandbox for the module, started with the real CLI; stopped at the end."""
    state_dir = tmp_path_factory.mktemp("lab") / "state"
    result = sandbox_cli(state_dir, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    yield state_dir, result
    sandbox_cli(state_dir, "down")


def _info(state_dir):
    return json.loads((state_dir / "sandbox" / "sandbox.json").read_text())


def test_up_prints_a_table_and_keeps_the_request_log_off_the_terminal(sandbox):
    state_dir, result = sandbox
    assert "aws" in result.stdout and "healthy" in result.stdout
    assert "HTTP/1.1" not in result.stdout + result.stderr  # werkzeug's request lines
    log = (state_dir / "sandbox" / "daemon.log").read_text()
    assert "HTTP/1.1" in log  # they went to the log file instead
    status = sandbox_cli(state_dir, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    doc = json.loads(status.stdout)
    assert doc["healthy"] and doc["running"]
    for name in ("aws", "sagemaker", "kube", "kfp", "ack"):
        assert doc["services"][name]["healthy"], doc["services"][name]
    info = _info(state_dir)
    assert info["pid"] == doc["pid"]
    assert all(info["services"][s]["url"].startswith("http://127.0.0.1:")
               for s in ("aws", "kube", "kfp"))


def test_boto3_reaches_iam_sts_s3_eks_and_logs(sandbox):
    state_dir, _ = sandbox
    env, info = sandbox_env(state_dir), _info(state_dir)
    assert boto("sts", env).get_caller_identity()["Account"] == info["account_id"]
    iam = boto("iam", env)
    role = iam.get_role(RoleName="SageMakerExecutionRole")["Role"]
    assert role["Arn"] == info["execution_role_arn"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    attached = iam.list_attached_role_policies(RoleName="SageMakerExecutionRole")
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["AmazonSageMakerFullAccess"]
    s3 = boto("s3", env)
    assert s3.get_bucket_location(Bucket=info["bucket"])["LocationConstraint"] == "eu-west-1"
    cluster = boto("eks", env).describe_cluster(name="kf-sm-workshop")["cluster"]
    issuer = cluster["identity"]["oidc"]["issuer"]
    assert re.fullmatch(r"https://oidc\.eks\.eu-west-1\.amazonaws\.com/id/[0-9A-F]{32}", issuer)
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert any(p["Arn"].endswith(issuer.removeprefix("https://")) for p in providers)
    logs = boto("logs", env)
    logs.create_log_group(logGroupName="/labwiz/test")
    logs.create_log_stream(logGroupName="/labwiz/test", logStreamName="s")
    logs.put_log_events(logGroupName="/labwiz/test", logStreamName="s",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}])
    events = logs.get_log_events(logGroupName="/labwiz/test", logStreamName="s")["events"]
    assert [e["message"] for e in events] == ["hello"]


@pytest.mark.tools("aws")
def test_aws_cli_and_a_plain_boto3_script_work_with_the_env_alone(sandbox, tmp_path):
    state_dir, _ = sandbox
    env, info = sandbox_env(state_dir), _info(state_dir)
    env["HOME"] = str(tmp_path)  # no ~/.aws of the host
    ls = subprocess.run(["aws", "s3", "ls"], env=env, capture_output=True, text=True, timeout=60)
    assert ls.returncode == 0 and info["bucket"] in ls.stdout, ls.stderr
    roles = subprocess.run(["aws", "iam", "list-roles", "--query", "Roles[].RoleName",
                            "--output", "text"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert roles.returncode == 0 and "SageMakerExecutionRole" in roles.stdout, roles.stderr
    issuer = subprocess.run(["aws", "eks", "describe-cluster", "--name", env["AWS_CLUSTER_NAME"],
                             "--query", "cluster.identity.oidc.issuer", "--output", "text"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert issuer.stdout.strip() == info["oidc_issuer"], issuer.stderr
    script = ("import boto3; print(boto3.client('sts').get_caller_identity()['Account']); "
              "print(boto3.client('s3').list_objects_v2(Bucket=__import__('os').environ"
              "['AWS_S3_BUCKET_NAME'])['KeyCount'])")
    plain = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.split()[0] == info["account_id"]


def test_kubernetes_and_kfp_clients_reach_it(sandbox):
    state_dir, _ = sandbox
    env = sandbox_env(state_dir)
    script = (
        "from kubernetes import client, config\n"
        "config.load_kube_config()\n"
        "names = [n.metadata.name for n in client.CoreV1Api().list_namespace().items]\n"
        f"assert '{NS}' in names, names\n"
        "sa = client.CoreV1Api().read_namespaced_service_account('ack-sagemaker-controller',"
        " 'ack-system')\n"
        "print(sa.metadata.annotations['eks.amazonaws.com/role-arn'])\n"
        "import kfp\n"
        "print(kfp.Client().list_experiments().total_size)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == _info(state_dir)["ack_role_arn"]


@pytest.mark.tools("kubectl")
def test_kubectl_reaches_it(sandbox):
    state_dir, _ = sandbox
    env = sandbox_env(state_dir)
    result = subprocess.run(["kubectl", "get", "serviceaccounts", "-o", "name"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "serviceaccount/default-editor" in result.stdout


def test_a_second_up_reuses_the_running_sandbox(sandbox):
    state_dir, _ = sandbox
    pid = _info(state_dir)["pid"]
    again = sandbox_cli(state_dir, "up")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert _info(state_dir)["pid"] == pid


def test_faults_set_at_run_time_change_the_answers(sandbox):
    from botocore.exceptions import ClientError

    state_dir, _ = sandbox
    env, info = sandbox_env(state_dir), _info(state_dir)
    iam = boto("iam", env, retries={"total_max_attempts": 1})
    s3 = boto("s3", env, retries={"total_max_attempts": 1})

    def codes(call, n=4):
        out = []
        for _ in range(n):
            try:
                call()
                out.append("ok")
            except ClientError as exc:
                out.append(exc.response["Error"]["Code"])
        return out

    assert sandbox_cli(state_dir, "fail", "throttle=0.5").returncode == 0
    assert "Throttling" in codes(iam.list_roles)
    assert "SlowDown" in codes(s3.list_buckets)
    assert sandbox_cli(state_dir, "fail", "--clear").returncode == 0
    assert codes(iam.list_roles) == ["ok"] * 4
    result = sandbox_cli(state_dir, "fail", "s3=AccessDenied")
    assert result.returncode == 0 and "s3=AccessDenied" in result.stdout
    assert codes(lambda: s3.list_objects_v2(Bucket=info["bucket"]), 1) == ["AccessDenied"]
    listed = sandbox_cli(state_dir, "fail", "--list")
    assert "s3=AccessDenied" in listed.stdout
    status = json.loads(sandbox_cli(state_dir, "status", "--json").stdout)
    assert status["faults"] == ["s3=AccessDenied"]
    assert sandbox_cli(state_dir, "fail", "--clear").returncode == 0
    assert codes(lambda: s3.list_objects_v2(Bucket=info["bucket"]), 1) == ["ok"]
    bad = sandbox_cli(state_dir, "fail", "throttle=0.9")
    assert bad.returncode == 2 and "at most 0.5" in bad.stderr


def test_objects_survive_down_and_up_with_the_same_ids(sandbox):
    state_dir, _ = sandbox
    env = sandbox_env(state_dir)
    iam, s3 = boto("iam", env), boto("s3", env)
    info = _info(state_dir)
    role_id = iam.create_role(RoleName="kfp-sagemaker-pod-role",
                              AssumeRolePolicyDocument="{}")["Role"]["RoleId"]
    iam.create_user(UserName="kf-smuser")
    key_id = iam.create_access_key(UserName="kf-smuser")["AccessKey"]["AccessKeyId"]
    s3.put_object(Bucket=info["bucket"], Key="lab1/source_data/a.txt", Body=b"data")
    uid = _configmap(env, "create")
    issuer = info["oidc_issuer"]

    down = sandbox_cli(state_dir, "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    stopped = sandbox_cli(state_dir, "status")
    assert stopped.returncode == 5 and "not running" in stopped.stdout
    up = sandbox_cli(state_dir, "up")
    assert up.returncode == 0, up.stderr

    env = sandbox_env(state_dir)
    iam, s3 = boto("iam", env), boto("s3", env)
    assert iam.get_role(RoleName="kfp-sagemaker-pod-role")["Role"]["RoleId"] == role_id
    keys = iam.list_access_keys(UserName="kf-smuser")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key_id]
    body = s3.get_object(Bucket=info["bucket"], Key="lab1/source_data/a.txt")["Body"].read()
    assert body == b"data"
    assert _configmap(env, "read") == uid
    assert _info(state_dir)["oidc_issuer"] == issuer
    eks = boto("eks", env).describe_cluster(name="kf-sm-workshop")["cluster"]
    assert eks["identity"]["oidc"]["issuer"] == issuer


def _configmap(env, action):
    """Create or read a ConfigMap in the profile namespace with the kubernetes client."""
    script = (
        "from kubernetes import client, config\n"
        "config.load_kube_config()\n"
        "api = client.CoreV1Api()\n"
        + ("cm = api.create_namespaced_config_map('%s', {'metadata': {'name': 'survivor'}, "
           "'data': {'k': 'v'}})\n" % NS if action == "create" else
           "cm = api.read_namespaced_config_map('survivor', '%s')\n" % NS)
        + "print(cm.metadata.uid)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_sigkilled_daemon_loses_little_and_status_says_so(sandbox):
    state_dir, _ = sandbox
    env, info = sandbox_env(state_dir), _info(state_dir)
    before = aws_health(info["services"]["aws"]["url"])["snapshots_written"]
    role_id = boto("iam", env).create_role(RoleName="made-before-kill",
                                           AssumeRolePolicyDocument="{}")["Role"]["RoleId"]
    wait_for("the AWS snapshot", lambda: aws_health(
        info["services"]["aws"]["url"])["snapshots_written"] > before)
    os.kill(info["pid"], signal.SIGKILL)
    wait_for("the daemon to die", lambda: sandbox_cli(state_dir, "status").returncode == 5)
    status = json.loads(sandbox_cli(state_dir, "status", "--json").stdout)
    assert not status["running"]
    assert any("gone" in p for p in status["problems"]), status["problems"]
    up = sandbox_cli(state_dir, "up")
    assert up.returncode == 0, up.stderr
    env = sandbox_env(state_dir)
    assert boto("iam", env).get_role(RoleName="made-before-kill")["Role"]["RoleId"] == role_id


def test_reset_wipes_everything(sandbox):
    state_dir, _ = sandbox
    result = sandbox_cli(state_dir, "reset", "--yes")
    assert result.returncode == 0
    assert not (state_dir / "sandbox").exists()
    env = sandbox_cli(state_dir, "env")
    assert env.returncode == 5 and "not running" in env.stderr
