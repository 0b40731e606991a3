"""Lab steps 1–2 against the sandbox: from an empty account to verified, idempotent, self-repairing."""

from __future__ import annotations

import pytest

from tests.steps.conftest import run_lab, state

FIRST_TWO = ("--only", "credentials,data-upload")
#: the pods' IRSA role is an explicit choice now (the default, none, makes no pod access)
IRSA = {"pod_access": "irsa"}


def _inventory(aws, kube, bucket: str, namespace: str) -> dict:
    """Everything steps 1–2 could create: IAM roles, users, keys, policies, secrets, objects."""
    from kubernetes import client

    iam = aws("iam")
    roles = sorted(r["RoleName"] for r in iam.list_roles()["Roles"])
    users = sorted(u["UserName"] for u in iam.list_users()["Users"])
    keys = sorted(k["AccessKeyId"] for u in users
                  for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"])
    policies = sorted(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    inline = sorted(f"{r}:{p}" for r in roles for p in iam.list_role_policies(RoleName=r)["PolicyNames"])
    user_inline = sorted(f"{u}:{p}" for u in users
                         for p in iam.list_user_policies(UserName=u)["PolicyNames"])
    objects = {o["Key"]: o["ETag"] for o in
               aws("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    secrets = sorted(s.metadata.name for s in core.list_namespaced_secret(namespace).items)
    bindings = sorted(b.metadata.name for b in rbac.list_namespaced_role_binding(namespace).items)
    return {"roles": roles, "users": users, "keys": keys, "policies": policies, "inline": inline,
            "user_inline": user_inline, "objects": objects, "secrets": secrets,
            "bindings": bindings}


def _aws_calls(sandbox_info) -> dict:
    """The sandbox AWS endpoint's count of outside calls, by "service:operation"."""
    import json
    import urllib.request

    url = sandbox_info["services"]["aws"]["url"] + "/_labwiz/health"
    with urllib.request.urlopen(url, timeout=120) as resp:
        return json.loads(resp.read())["calls"]


def _s3_writes(calls: dict) -> int:
    """S3 PUTs and POSTs (a multipart upload is POST, PUT per part, POST) in a call count."""
    return calls.get("s3:PUT", 0) + calls.get("s3:POST", 0)


def test_from_empty_to_verified_then_nothing_new(lab, aws, kube, sandbox_info):
    """pod_access irsa, chosen explicitly: the pod role and its annotation, then a re-run that
    changes nothing."""
    first_calls = _aws_calls(sandbox_info)
    result = run_lab(lab, *FIRST_TWO, answers=IRSA)
    assert result.returncode == 0, result.stdout + result.stderr
    # the counter sees the first run's uploads, so a zero below means nothing was sent
    assert _s3_writes(_aws_calls(sandbox_info)) - _s3_writes(first_calls) >= 2
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
    calls_before = _aws_calls(sandbox_info)
    again = run_lab(lab, "--from", "credentials", *FIRST_TWO, answers=IRSA)
    assert again.returncode == 0, again.stdout + again.stderr
    calls_after = _aws_calls(sandbox_info)
    assert "not uploading it again" in again.stdout
    assert _s3_writes(calls_after) == _s3_writes(calls_before), (calls_before, calls_after)
    for write in ("iam:CreateRole", "iam:CreateUser", "iam:CreateAccessKey", "iam:CreatePolicy",
                  "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"):
        assert calls_after.get(write, 0) == calls_before.get(write, 0), write
    assert _inventory(aws, kube, data["bucket"], creds["namespace"]) == before
    assert len(state(lab)["ledger"]) == len(doc["ledger"])


def test_deleted_resources_fail_verify_and_are_repaired(lab, aws, kube):
    assert run_lab(lab, *FIRST_TWO, answers=IRSA).returncode == 0
    doc = state(lab)
    creds, data = doc["steps"]["credentials"]["outputs"], doc["steps"]["data-upload"]["outputs"]
    from kubernetes import client

    core = client.CoreV1Api(kube)
    core.patch_namespaced_service_account("default-editor", creds["namespace"], [
        {"op": "remove", "path": "/metadata/annotations/eks.amazonaws.com~1role-arn"}])
    aws("s3").delete_object(Bucket=data["bucket"], Key="lab1/source_data/mnist.pkl.gz")
    result = run_lab(lab, *FIRST_TWO, answers=IRSA)
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


# README's exit codes: 2 when the answer is refused before the step starts (its shape), 1 when
# the step starts and fails on it (what the account or the cluster has)
@pytest.mark.parametrize("answers, words, code", [
    ({"execution_role_arn": "SageMakerExecutionRole"},
     "is a role name; an ARN is needed here", 2),
    ({"execution_role_arn": "arn:aws:iam::123:role/x"}, "an account id is 12 digits", 2),
    ({"execution_role_arn": "arn:aws:iam::123456789012:role/does-not-exist"}, "does not exist",
     1),
    ({"bucket": "Bad_Bucket"}, "is not a valid S3 bucket name", 2),
    ({"bucket": "s3://my-bucket/lab1"}, "is an S3 URI", 2),
    ({"region": "eu-west-9"}, "is not an AWS region", 2),
    ({"region": "us-east-2"}, "The sandbox runs in eu-west-1", 1),
    ({"namespace": "Kube Flow"}, "is not a valid Kubernetes namespace name", 2),
    ({"namespace": "no-such-namespace"}, "does not exist in the cluster", 1),
    ({"service_account": "nobody"}, "does not exist", 1),
    ({"cluster_name": "other-cluster"}, "There is no EKS cluster 'other-cluster'", 1),
    ({"pod_access": "magic"}, "is not one of: none, irsa, secret", 2),
])
def test_bad_inputs_say_what_to_do(lab, answers, words, code):
    result = run_lab(lab, "--only", "credentials", answers=answers)
    assert result.returncode == code, result.stdout
    output = result.stdout + result.stderr
    assert words in output
    assert "What to do" in output


def test_pod_role_given_as_execution_role_is_refused(lab, sandbox_info):
    assert run_lab(lab, "--only", "credentials", answers=IRSA).returncode == 0
    pod_role = state(lab)["steps"]["credentials"]["outputs"]["pod_role_arn"]
    result = run_lab(lab, "--from", "credentials", "--only", "credentials",
                     answers={**IRSA, "execution_role_arn": pod_role})
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
    assert result.returncode == 5  # AWS unusable: exit 5 (README), the resume command printed
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
    assert result.returncode == 5, result.stdout  # the cluster unreachable: exit 5 (README)
    assert "could not be reached" in result.stdout and "kubectl get ns" in result.stdout
    # the service account's default is a guess, asked once: only the step's own call retries
    before_step = result.stdout.split("Step 1 of 9")[0]
    assert "retrying" not in before_step, before_step


# -- the pods' role: trust conditions checked by verify, repaired only after confirmation -------

def _set_pod_trust_subject(aws, role_arn: str, subject: str) -> None:
    """Rewrite the pod role's trust so that its ``sub`` names ``subject`` (as a learner might)."""
    import json

    iam = aws("iam")
    name = role_arn.split("/")[-1]
    document = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    condition = document["Statement"][0]["Condition"]["StringEquals"]
    key = next(k for k in condition if k.endswith(":sub"))
    condition[key] = subject
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))


def _pod_trust_subject(aws, role_arn: str) -> str:
    statement = aws("iam").get_role(RoleName=role_arn.split("/")[-1])["Role"][
        "AssumeRolePolicyDocument"]["Statement"][0]
    return next(v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub"))


def test_pod_trust_naming_another_service_account_fails_verify_and_is_repaired_on_confirmation(
        lab, aws):
    assert run_lab(lab, "--only", "credentials", answers=IRSA).returncode == 0
    pod_role = state(lab)["steps"]["credentials"]["outputs"]["pod_role_arn"]
    wanted = "system:serviceaccount:kubeflow-user-example-com:default-editor"
    _set_pod_trust_subject(aws, pod_role, "system:serviceaccount:other-team:builder")

    # no --yes and no 'repair' answer: verify fails saying what and how, nothing is changed
    refused = run_lab(lab, "--only", "credentials", answers=IRSA, yes=False)
    assert refused.returncode == 1, refused.stdout
    assert "no longer holds" in refused.stdout
    assert f"allows system:serviceaccount:other-team:builder, not {wanted}" in refused.stdout
    assert "aws iam update-assume-role-policy --role-name " + pod_role.split("/")[-1] in refused.stdout
    assert "What to do" in refused.stdout and "repair: yes" in refused.stdout
    assert _pod_trust_subject(aws, pod_role) == "system:serviceaccount:other-team:builder"

    # 'repair: no' wins even over --yes
    kept = run_lab(lab, "--only", "credentials", answers={**IRSA, "repair": "no"}, yes=True)
    assert kept.returncode == 1, kept.stdout
    assert _pod_trust_subject(aws, pod_role) == "system:serviceaccount:other-team:builder"

    # an answers file can confirm without --yes
    repaired = run_lab(lab, "--only", "credentials", answers={**IRSA, "repair": "yes"},
                       yes=False)
    assert repaired.returncode == 0, repaired.stdout
    assert "Repaired the trust policy" in repaired.stdout
    assert _pod_trust_subject(aws, pod_role) == wanted
    again = run_lab(lab, "--only", "credentials", answers=IRSA, yes=False)
    assert again.returncode == 0 and "still verified" in again.stdout


def test_pod_trust_without_the_audience_fails_verify(lab, aws):
    import json

    assert run_lab(lab, "--only", "credentials", answers=IRSA).returncode == 0
    pod_role = state(lab)["steps"]["credentials"]["outputs"]["pod_role_arn"]
    iam, name = aws("iam"), pod_role.split("/")[-1]
    document = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    condition = document["Statement"][0]["Condition"]["StringEquals"]
    del condition[next(k for k in condition if k.endswith(":aud"))]
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(document))
    result = run_lab(lab, "--only", "credentials", answers=IRSA, yes=False)
    assert result.returncode == 1
    assert ":aud = sts.amazonaws.com" in result.stdout
    assert "update-assume-role-policy" in result.stdout


def test_annotation_naming_another_role_is_replaced_only_after_confirmation(lab, kube):
    from kubernetes import client

    assert run_lab(lab, "--only", "credentials", answers=IRSA).returncode == 0
    creds = state(lab)["steps"]["credentials"]["outputs"]
    core = client.CoreV1Api(kube)
    other = "arn:aws:iam::123456789012:role/someone-elses-role"
    core.patch_namespaced_service_account("default-editor", creds["namespace"], {
        "metadata": {"annotations": {"eks.amazonaws.com/role-arn": other}}})
    refused = run_lab(lab, "--only", "credentials", answers={**IRSA, "repair": "no"})
    assert refused.returncode == 1, refused.stdout
    assert f"is annotated with another role ({other})" in refused.stdout
    assert (f"kubectl annotate -n {creds['namespace']} serviceaccount default-editor "
            f"eks.amazonaws.com/role-arn={creds['pod_role_arn']} --overwrite") in refused.stdout
    account = core.read_namespaced_service_account("default-editor", creds["namespace"])
    assert account.metadata.annotations["eks.amazonaws.com/role-arn"] == other
    repaired = run_lab(lab, "--only", "credentials", answers=IRSA)  # --yes answers it
    assert repaired.returncode == 0, repaired.stdout
    account = core.read_namespaced_service_account("default-editor", creds["namespace"])
    assert account.metadata.annotations["eks.amazonaws.com/role-arn"] == creds["pod_role_arn"]


# -- the profile's service account ----------------------------------------------------------

def test_standalone_kfp_namespace_uses_pipeline_runner(lab, aws, sandbox_info):
    """The sandbox's 'kubeflow' namespace has pipeline-runner and no default-editor."""
    result = run_lab(lab, "--only", "credentials", answers={**IRSA, "namespace": "kubeflow"})
    assert result.returncode == 0, result.stdout + result.stderr
    doc = state(lab)
    creds = doc["steps"]["credentials"]["outputs"]
    assert creds["service_account"] == "pipeline-runner"
    assert doc["inputs"]["service_account"] == "pipeline-runner"
    assert _pod_trust_subject(aws, creds["pod_role_arn"]) == \
        "system:serviceaccount:kubeflow:pipeline-runner"


# -- labwiz run --explain after a run (its tripwire tests are in test_steps_credentials_explain.py)

def test_explain_after_a_secret_mode_run_shows_no_key_and_calls_nothing(lab, kube, sandbox_info):
    import base64

    from kubernetes import client

    assert run_lab(lab, "--only", "credentials", answers={"pod_access": "secret"}).returncode == 0
    creds = state(lab)["steps"]["credentials"]["outputs"]
    secret = client.CoreV1Api(kube).read_namespaced_secret("aws-secret", creds["namespace"])
    key_id = base64.b64decode(secret.data["AWS_ACCESS_KEY_ID"]).decode()
    key = base64.b64decode(secret.data["AWS_SECRET_ACCESS_KEY"]).decode()
    state_before = (lab / "state.json").read_text()
    calls_before = _aws_calls(sandbox_info)
    result = run_lab(lab, "--explain", "--only", "credentials")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _aws_calls(sandbox_info) == calls_before
    assert (lab / "state.json").read_text() == state_before
    assert key not in result.stdout + result.stderr and key_id not in result.stdout
    assert "AWS_SECRET_ACCESS_KEY=$LAB_SECRET_ACCESS_KEY" in result.stdout
    # the real names of this lab's resources, not placeholders, once the lab exists
    assert f"labwiz-kfp-{state(lab)['lineage'].replace('-', '')[:8]}" in result.stdout


# -- pod_access none (the default): the pods get no AWS access at all ---------------------------

def _pod_access_inventory(aws, kube, namespace: str) -> dict:
    """What pod access could be, read through IAM and Kubernetes (not through the ledger)."""
    from kubernetes import client

    iam = aws("iam")
    core = client.CoreV1Api(kube)
    account = core.read_namespaced_service_account("default-editor", namespace)
    return {"roles": {r["RoleName"] for r in iam.list_roles()["Roles"]},
            "users": {u["UserName"] for u in iam.list_users()["Users"]},
            "secrets": {s.metadata.name for s in core.list_namespaced_secret(namespace).items},
            "annotations": dict(account.metadata.annotations or {})}


def test_default_lab_gives_the_pods_no_aws_access(lab, aws, kube):
    namespace = "kubeflow-user-example-com"
    before = _pod_access_inventory(aws, kube, namespace)
    result = run_lab(lab, *FIRST_TWO)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = state(lab)
    creds = doc["steps"]["credentials"]["outputs"]
    assert doc["inputs"]["pod_access"] == "none" and creds["access_mode"] == "none"
    assert creds["pod_role_arn"] is None and creds["secret_name"] is None
    assert "pod_access none" in result.stdout
    after = _pod_access_inventory(aws, kube, namespace)
    # the only new IAM role is the execution role; no user, no Secret, no annotation
    assert after["roles"] - before["roles"] == {creds["execution_role_arn"].split("/")[-1]}
    assert after["users"] == before["users"]
    assert after["secrets"] == before["secrets"]
    assert after["annotations"] == before["annotations"]
    kinds = {row["kind"] for row in doc["ledger"]}
    assert not kinds & {"iam-user", "iam-access-key", "k8s-secret", "k8s-annotation"}, kinds
    # RBAC is what the pods need (made by this lab or an earlier one on the module's sandbox)
    from kubernetes import client

    review = client.AuthorizationV1Api(kube).create_subject_access_review(
        client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{namespace}:default-editor",
            resource_attributes=client.V1ResourceAttributes(
                group="sagemaker.services.k8s.aws", resource="trainingjobs", verb="create",
                namespace=namespace))))
    assert review.status.allowed
    # the ACK controller's role was judged, and named in the outputs
    assert creds["ack_role_arn"].endswith(":role/ack-sagemaker-controller")
    assert "ACK controller's role may pass labwiz-sagemaker-execution-" in result.stdout
    again = run_lab(lab, "--only", "credentials")
    assert again.returncode == 0 and "still verified" in again.stdout
    assert _pod_access_inventory(aws, kube, namespace) == after


def test_ack_role_without_passrole_is_reported_and_left_alone(lab, aws):
    """The controller's role loses iam:PassRole (SageMaker access stays): the step says so with
    the fix, and does not touch the role, which is not the learner's."""
    import json

    iam = aws("iam")
    full = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    sagemaker_only = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]})
    iam.detach_role_policy(RoleName="ack-sagemaker-controller", PolicyArn=full)
    iam.put_role_policy(RoleName="ack-sagemaker-controller", PolicyName="sagemaker-only",
                        PolicyDocument=sagemaker_only)
    try:
        result = run_lab(lab, "--only", "credentials")
        attached = iam.list_attached_role_policies(RoleName="ack-sagemaker-controller")
        inline = iam.list_role_policies(RoleName="ack-sagemaker-controller")["PolicyNames"]
    finally:
        iam.delete_role_policy(RoleName="ack-sagemaker-controller", PolicyName="sagemaker-only")
        iam.attach_role_policy(RoleName="ack-sagemaker-controller", PolicyArn=full)
    assert result.returncode == 0, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "IAM denies ack-sagemaker-controller iam:PassRole on the execution role" in out
    assert "ACK controller's role may call SageMaker" in out
    assert "aws iam put-role-policy --role-name ack-sagemaker-controller" in out
    assert attached["AttachedPolicies"] == [] and inline == ["sagemaker-only"]


def test_a_lab_begun_with_irsa_resumes_and_cleans_up_as_irsa(lab, aws, kube):
    """A lab whose state chose irsa (the old default, remembered in its inputs) keeps it on a
    resumed run without answers: verify still checks the pod role, a lost annotation is put
    back, and cleanup removes the role and the annotation it made."""
    from kubernetes import client

    assert run_lab(lab, "--only", "credentials", answers=IRSA).returncode == 0
    creds = state(lab)["steps"]["credentials"]["outputs"]
    core = client.CoreV1Api(kube)
    core.patch_namespaced_service_account("default-editor", creds["namespace"], [
        {"op": "remove", "path": "/metadata/annotations/eks.amazonaws.com~1role-arn"}])
    resumed = run_lab(lab, "--only", "credentials")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "is no longer annotated with the pod role" in resumed.stdout
    assert state(lab)["steps"]["credentials"]["outputs"]["access_mode"] == "irsa"
    account = core.read_namespaced_service_account("default-editor", creds["namespace"])
    assert account.metadata.annotations["eks.amazonaws.com/role-arn"] == creds["pod_role_arn"]
    cleaned = run_lab(lab, "--only", "cleanup")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    roles = {r["RoleName"] for r in aws("iam").list_roles()["Roles"]}
    assert creds["pod_role_arn"].split("/")[-1] not in roles
    account = core.read_namespaced_service_account("default-editor", creds["namespace"])
    assert "eks.amazonaws.com/role-arn" not in (account.metadata.annotations or {})


# -- more bad inputs, each saying what to do ----------------------------------------------------

@pytest.mark.parametrize("answers, words, todo", [
    ({"execution_role_arn": "arn:aws-xx:iam::123456789012:role/Name"},
     "has the partition 'aws-xx'", "use arn:aws:iam::123456789012:role/Name"),
])
def test_more_bad_inputs_say_what_to_do(lab, answers, words, todo):
    result = run_lab(lab, "--only", "credentials", answers=answers)
    assert result.returncode == 2, result.stdout
    output = result.stdout + result.stderr
    assert words in output
    assert "What to do" in output and todo in output


def test_role_arn_with_a_path_is_accepted(lab, aws):
    import json

    from wizard.aws.iam import sagemaker_trust

    role = aws("iam").create_role(RoleName="PathedExecutionRole", Path="/service-role/",
                                  AssumeRolePolicyDocument=json.dumps(sagemaker_trust()))["Role"]
    arn = role["Arn"]
    assert arn.endswith(":role/service-role/PathedExecutionRole")
    result = run_lab(lab, "--only", "credentials", answers={"execution_role_arn": arn})
    assert result.returncode == 0, result.stdout + result.stderr
    assert state(lab)["steps"]["credentials"]["outputs"]["execution_role_arn"] == arn
    again = run_lab(lab, "--only", "credentials", answers={"execution_role_arn": arn})
    assert again.returncode == 0 and "still verified" in again.stdout


def test_bucket_owned_by_another_account_is_refused(lab, aws, sandbox_info):
    import boto3

    creds = aws("sts").assume_role(RoleArn="arn:aws:iam::210987654321:role/other-team",
                                   RoleSessionName="other-team")["Credentials"]
    other = boto3.client("s3", endpoint_url=sandbox_info["services"]["aws"]["url"],
                         region_name=sandbox_info["region"], aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])
    other.create_bucket(Bucket="other-teams-lab-bucket",
                        CreateBucketConfiguration={"LocationConstraint": sandbox_info["region"]})
    result = run_lab(lab, *FIRST_TWO, answers={"bucket": "other-teams-lab-bucket"})
    assert result.returncode == 1, result.stdout
    assert "belongs to another account, not to yours" in result.stdout
    assert "What to do" in result.stdout and "choose another name" in result.stdout
    assert "Contents" not in other.list_objects_v2(Bucket="other-teams-lab-bucket")


def test_expired_credentials_say_to_refresh_them(lab):
    from tests.conftest import run_labwiz
    from wizard.sandbox import faults

    sandbox_dir = lab / "sandbox"
    before = faults.read(sandbox_dir)
    try:
        set_fault = run_labwiz(["--state-dir", str(lab), "sandbox", "fail",
                                "credentials=ExpiredToken"])
        assert set_fault.returncode == 0, set_fault.stdout + set_fault.stderr
        result = run_lab(lab, "--only", "credentials")
    finally:
        faults.write(sandbox_dir, before)
    assert result.returncode == 5, result.stdout  # AWS unusable until refreshed: exit 5 (README)
    assert "AWS rejected your credentials while asking STS who you are (ExpiredToken)" in result.stdout
    assert "What to do" in result.stdout and "refresh them" in result.stdout
    assert run_lab(lab, "--only", "credentials").returncode == 0  # fine again once refreshed
