"""Lab steps 1–2 against the sandbox: from an empty account to verified, idempotent, self-repairing."""

from __future__ import annotations

import pytest

from tests.steps.conftest import run_lab, state

FIRST_TWO = ("--only", "credentials,data-upload")


def _inventory(aws, kube, bucket: str, namespace: str) -> dict:
    """Everything steps 1–2 could create, with S3 modification times (a re-upload changes them)."""
    from kubernetes import client

    iam = aws("iam")
    roles = sorted(r["RoleName"] for r in iam.list_roles()["Roles"])
    users = sorted(u["UserName"] for u in iam.list_users()["Users"])
    keys = sorted(k["AccessKeyId"] for u in users
                  for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"])
    policies = sorted(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    inline = sorted(f"{r}:{p}" for r in roles for p in iam.list_role_policies(RoleName=r)["PolicyNames"])
    objects = {o["Key"]: o["LastModified"].isoformat() for o in
               aws("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    secrets = sorted(s.metadata.name for s in core.list_namespaced_secret(namespace).items)
    bindings = sorted(b.metadata.name for b in rbac.list_namespaced_role_binding(namespace).items)
    return {"roles": roles, "users": users, "keys": keys, "policies": policies, "inline": inline,
            "objects": objects, "secrets": secrets, "bindings": bindings}


def test_from_empty_to_verified_then_nothing_new(lab, aws, kube, sandbox_info):
    result = run_lab(lab, *FIRST_TWO)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = state(lab)
    creds = doc["steps"]["credentials"]["outputs"]
    assert creds["access_mode"] == "irsa"
    assert creds["execution_role_arn"].split("/")[-1].startswith("labwiz-sagemaker-execution-")
    # the pod role trusts exactly the profile's service account through the cluster's OIDC provider
    role = aws("iam").get_role(RoleName=creds["pod_role_arn"].split("/")[-1])["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    host = sandbox_info["oidc_issuer"].removeprefix("https://")
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"][f"{host}:sub"] == \
        "system:serviceaccount:kubeflow-user-example-com:default-editor"
    assert statement["Condition"]["StringEquals"][f"{host}:aud"] == "sts.amazonaws.com"
    from kubernetes import client

    sa = client.CoreV1Api(kube).read_namespaced_service_account("default-editor", creds["namespace"])
    assert sa.metadata.annotations["eks.amazonaws.com/role-arn"] == creds["pod_role_arn"]
    data = doc["steps"]["data-upload"]["outputs"]
    assert data["data_uri"].endswith("lab1/source_data/mnist.pkl.gz")
    kinds = {row["kind"] for row in doc["ledger"]}
    assert {"iam-role", "k8s-annotation", "k8s-role", "k8s-rolebinding", "s3-object"} <= kinds

    before = _inventory(aws, kube, data["bucket"], creds["namespace"])
    again = run_lab(lab, "--from", "credentials", *FIRST_TWO)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "not uploading it again" in again.stdout
    assert _inventory(aws, kube, data["bucket"], creds["namespace"]) == before
    assert len(state(lab)["ledger"]) == len(doc["ledger"])


def test_deleted_resources_fail_verify_and_are_repaired(lab, aws, kube):
    assert run_lab(lab, *FIRST_TWO).returncode == 0
    doc = state(lab)
    creds, data = doc["steps"]["credentials"]["outputs"], doc["steps"]["data-upload"]["outputs"]
    from kubernetes import client

    core = client.CoreV1Api(kube)
    core.patch_namespaced_service_account("default-editor", creds["namespace"], [
        {"op": "remove", "path": "/metadata/annotations/eks.amazonaws.com~1role-arn"}])
    aws("s3").delete_object(Bucket=data["bucket"], Key="lab1/source_data/mnist.pkl.gz")
    result = run_lab(lab, *FIRST_TWO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is no longer annotated with the pod role" in result.stdout
    assert "lab1/source_data/mnist.pkl.gz is gone" in result.stdout
    sa = core.read_namespaced_service_account("default-editor", creds["namespace"])
    assert sa.metadata.annotations["eks.amazonaws.com/role-arn"] == creds["pod_role_arn"]
    aws("s3").head_object(Bucket=data["bucket"], Key="lab1/source_data/mnist.pkl.gz")


def test_secret_mode_creates_aws_secret_and_never_shows_the_key(lab, kube):
    result = run_lab(lab, "--only", "credentials", answers={"pod_access": "secret"})
    assert result.returncode == 0, result.stdout + result.stderr
    creds = state(lab)["steps"]["credentials"]["outputs"]
    assert creds["access_mode"] == "secret" and creds["secret_name"] == "aws-secret"
    import base64

    from kubernetes import client

    secret = client.CoreV1Api(kube).read_namespaced_secret("aws-secret", creds["namespace"])
    key = base64.b64decode(secret.data["AWS_SECRET_ACCESS_KEY"]).decode()
    assert len(key) >= 20
    for path in [lab / "state.json", lab / "events.jsonl", lab / "labwiz.log",
                 *(lab / "commands").glob("*.sh")]:
        assert key not in path.read_text(), path
    assert key not in result.stdout + result.stderr
    again = run_lab(lab, "--from", "credentials", "--only", "credentials",
                    answers={"pod_access": "secret"})
    assert again.returncode == 0 and "keeping it" in again.stdout


@pytest.mark.parametrize("answers, words", [
    ({"execution_role_arn": "SageMakerExecutionRole"},
     "is a role name; an ARN is needed here"),
    ({"execution_role_arn": "arn:aws:iam::123:role/x"}, "an account id is 12 digits"),
    ({"execution_role_arn": "arn:aws:iam::123456789012:role/does-not-exist"}, "does not exist"),
    ({"bucket": "Bad_Bucket"}, "is not a valid S3 bucket name"),
    ({"bucket": "s3://my-bucket/lab1"}, "is an S3 URI"),
    ({"region": "eu-west-9"}, "is not an AWS region"),
    ({"region": "us-east-2"}, "The sandbox runs in eu-west-1"),
    ({"namespace": "Kube Flow"}, "is not a valid Kubernetes namespace name"),
    ({"namespace": "no-such-namespace"}, "does not exist in the cluster"),
    ({"service_account": "nobody"}, "does not exist"),
    ({"cluster_name": "other-cluster"}, "There is no EKS cluster 'other-cluster'"),
    ({"pod_access": "magic"}, "is not one of: irsa, secret"),
])
def test_bad_inputs_say_what_to_do(lab, answers, words):
    result = run_lab(lab, "--only", "credentials", answers=answers)
    assert result.returncode in (1, 2), result.stdout
    output = result.stdout + result.stderr
    assert words in output
    assert "What to do" in output


def test_pod_role_given_as_execution_role_is_refused(lab, sandbox_info):
    assert run_lab(lab, "--only", "credentials").returncode == 0
    pod_role = state(lab)["steps"]["credentials"]["outputs"]["pod_role_arn"]
    result = run_lab(lab, "--from", "credentials", "--only", "credentials",
                     answers={"execution_role_arn": pod_role})
    assert result.returncode == 1
    assert "is a pod role" in result.stdout and "SageMakerExecutionRole" in result.stdout


def test_role_not_trusting_sagemaker_is_repaired_only_after_confirmation(lab, aws):
    import json

    iam = aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
             "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName="learner-made-role",
                          AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    answers = {"execution_role_arn": arn}
    refused = run_lab(lab, "--only", "credentials", answers=answers, yes=False)
    assert refused.returncode == 1
    assert "does not trust sagemaker.amazonaws.com" in refused.stdout
    repaired = run_lab(lab, "--only", "credentials", answers=answers)
    assert repaired.returncode == 0, repaired.stdout
    principals = [s["Principal"] for s in
                  iam.get_role(RoleName="learner-made-role")["Role"]["AssumeRolePolicyDocument"]["Statement"]]
    assert {"Service": "sagemaker.amazonaws.com"} in principals


def test_bucket_in_another_region_is_refused(lab, aws):
    aws("s3", "us-east-2").create_bucket(Bucket="lab-bucket-in-ohio",
                            CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    result = run_lab(lab, *FIRST_TWO, answers={"bucket": "lab-bucket-in-ohio"})
    assert result.returncode == 1
    assert "is in us-east-2, not in the lab's region eu-west-1" in result.stdout


def test_new_bucket_is_created_in_the_region_and_tagged(lab, aws):
    result = run_lab(lab, *FIRST_TWO, answers={"bucket": "labwiz-fresh-bucket-1"})
    assert result.returncode == 0, result.stdout
    s3 = aws("s3")
    assert s3.get_bucket_location(Bucket="labwiz-fresh-bucket-1")["LocationConstraint"] == "eu-west-1"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="labwiz-fresh-bucket-1")["TagSet"]}
    assert tags["labwiz:lineage"] == state(lab)["lineage"]


def test_bad_mnist_file_is_refused(lab, tmp_path):
    bogus = tmp_path / "mnist.pkl.gz"
    bogus.write_bytes(b"not gzip at all")
    result = run_lab(lab, *FIRST_TWO, answers={"mnist_path": str(bogus)})
    assert result.returncode == 1
    assert "is not a readable mnist.pkl.gz" in result.stdout
    missing = run_lab(lab, *FIRST_TWO, answers={"mnist_path": str(tmp_path / "nope.gz")})
    assert missing.returncode == 2 and "is not a file" in missing.stderr


def test_no_aws_credentials_outside_the_sandbox(tmp_path):
    from tests.conftest import run_labwiz

    result = run_labwiz(["--state-dir", str(tmp_path / "s"), "run", "--yes", "--only", "credentials"],
                        env={"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
                             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_REGION": "eu-west-1"})
    assert result.returncode == 1
    assert "No AWS credentials were found" in result.stdout
    assert "aws configure" in result.stdout


def test_no_cluster_access(lab, tmp_path):
    """A kubeconfig pointing at a closed port: a clear message, not a traceback."""
    import yaml

    doc = yaml.safe_load((lab / "sandbox" / "kubeconfig").read_text())
    doc["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    broken = tmp_path / "broken-kubeconfig"
    broken.write_text(yaml.safe_dump(doc))
    from tests.conftest import run_labwiz

    info = (lab / "sandbox" / "sandbox.json").read_text()
    import json as _json

    aws_url = _json.loads(info)["services"]["aws"]["url"]
    result = run_labwiz(["--state-dir", str(tmp_path / "s"), "run", "--yes", "--only", "credentials"],
                        env={"AWS_ENDPOINT_URL": aws_url, "AWS_ACCESS_KEY_ID": "testing",
                             "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1",
                             "KUBECONFIG": str(broken)}, timeout=180)
    assert result.returncode == 1, result.stdout
    assert "could not be reached" in result.stdout and "kubectl get ns" in result.stdout
