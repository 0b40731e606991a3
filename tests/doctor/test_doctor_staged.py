"""Staged failures: break one thing in a healthy sandbox lab, and the doctor names it.

Each test changes the environment (not the doctor), runs the real checks through the real
clients, asserts the failing check and its remediation, and puts the environment back.
"""

from __future__ import annotations

import base64
import json
import time

import pytest


def test_healthy_lab_passes_every_check(lab):
    results = lab.doctor()
    failed = {n: r.found for n, r in results.items() if r.status in ("fail", "warn")}
    assert failed == {}
    for name in ("sandbox", "aws-credentials", "aws-region", "kube-api", "irsa-annotation",
                 "pipeline-rbac", "pod-role-trust", "execution-role", "s3-bucket",
                 "s3-lab-data", "ack-controller", "ack-crds", "ack-irsa", "kfp-api",
                 "kfp-auth", "billing-leftovers"):
        assert results[name].status == "pass", (name, results[name].found)
    # slow checks come last, and say so
    order = list(results)
    slow = [n for n in order if results[n].slow]
    assert slow and order[-len(slow):] == slow


def test_missing_annotation(lab):
    lab.annotate(None)
    try:
        result = lab.doctor("irsa-annotation")["irsa-annotation"]
    finally:
        lab.annotate(lab.pod_role_arn)
    assert result.status == "fail"
    assert "no eks.amazonaws.com/role-arn annotation" in result.found
    assert f"kubectl annotate -n {lab.namespace} serviceaccount {lab.sa}" in result.remediation
    assert result.doc_url.startswith("https://docs.aws.amazon.com/eks/")


def test_trust_naming_another_service_account(lab):
    iam = lab.clients.aws("iam")
    wrong = f"system:serviceaccount:kubeflow:{lab.sa}"
    iam.update_assume_role_policy(RoleName="kfp-sagemaker-pod-role",
                                  PolicyDocument=lab.trust_policy(sub=wrong))
    try:
        result = lab.doctor("pod-role-trust")["pod-role-trust"]
    finally:
        iam.update_assume_role_policy(RoleName="kfp-sagemaker-pod-role",
                                      PolicyDocument=lab.trust_policy())
    assert result.status == "fail"
    assert "AssumeRoleWithWebIdentity will be denied" in result.found
    assert wrong in result.found
    assert f"system:serviceaccount:{lab.namespace}:{lab.sa}" in result.remediation


def test_rolebinding_deleted(lab):
    lab.clients.rbac_v1().delete_namespaced_role_binding("labwiz-sagemaker-resources",
                                                         lab.namespace)
    try:
        result = lab.doctor("pipeline-rbac")["pipeline-rbac"]
    finally:
        lab.grant_rbac()
    assert result.status == "fail"
    assert "create trainingjobs" in result.found or "create processingjobs" in result.found
    assert "rolebinding" in result.remediation and "kubectl auth can-i" in result.remediation
    assert lab.doctor("pipeline-rbac")["pipeline-rbac"].status == "pass"


def test_crd_deleted(lab):
    from kubernetes import client

    api = client.ApiextensionsV1Api(lab.clients.kube)
    name = "transformjobs.sagemaker.services.k8s.aws"
    saved = api.read_custom_resource_definition(name)
    api.delete_custom_resource_definition(name)
    try:
        result = lab.doctor("ack-crds")["ack-crds"]
    finally:
        body = lab.clients.kube.sanitize_for_serialization(saved)
        body["metadata"] = {"name": name}
        body.pop("status", None)
        api.create_custom_resource_definition(body)
    assert result.status == "fail"
    assert "TransformJob" in result.found
    assert "helm" in result.remediation.lower() or "crds" in result.remediation


def test_controller_scaled_to_zero(lab):
    apps = lab.clients.apps_v1()
    name = [d.metadata.name for d in apps.list_namespaced_deployment("ack-system").items
            if "sagemaker" in d.metadata.name][0]
    apps.patch_namespaced_deployment(name, "ack-system", {"spec": {"replicas": 0}})
    try:
        result = lab.doctor("ack-controller")["ack-controller"]
    finally:
        apps.patch_namespaced_deployment(name, "ack-system", {"spec": {"replicas": 1}})
    assert result.status == "fail"
    assert "scaled to 0" in result.found
    assert f"kubectl -n ack-system scale deployment {name} --replicas=1" == result.remediation


def test_bucket_in_another_region(lab):
    s3 = lab.clients.session.client("s3", region_name="us-west-2",
                                    endpoint_url=lab.target.aws_endpoint_url)
    other = "labwiz-doctor-other-region"
    if other not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=other,
                         CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    lab.write_state(inputs={"bucket": other},
                    steps={"data-upload": {"status": "done", "outputs": {
                        "bucket": other, "region": "eu-west-1"}}})
    results = lab.doctor("s3-bucket", "aws-region")
    assert results["s3-bucket"].status == "fail"
    assert "is in us-west-2, but the lab runs in eu-west-1" in results["s3-bucket"].found
    assert "bucket in eu-west-1" in results["s3-bucket"].remediation
    assert results["aws-region"].status == "fail"
    assert f"bucket {other}: us-west-2" in results["aws-region"].found


def test_data_missing(lab):
    s3 = lab.clients.aws("s3")
    key = "lab1/processing_code/kmeans_preprocessing.py"
    s3.delete_object(Bucket=lab.bucket, Key=key)
    try:
        result = lab.doctor("s3-lab-data")["s3-lab-data"]
    finally:
        s3.put_object(Bucket=lab.bucket, Key=key, Body=b"print('preprocess')\n")
    assert result.status == "fail"
    assert "the preprocessing script" in result.found and "MNIST" not in result.found
    assert f"aws s3 cp kmeans_preprocessing.py s3://{lab.bucket}/{key}" in result.remediation


@pytest.mark.parametrize("given,expect", [
    ("SageMakerExecutionRole", "is a role name, not an ARN"),
    ("POD", "is the pipeline pods' role"),
    ("UNTRUSTED", "does not trust sagemaker.amazonaws.com"),
])
def test_wrong_execution_role(lab, given, expect):
    if given == "POD":
        given = lab.pod_role_arn
    elif given == "UNTRUSTED":
        iam = lab.clients.aws("iam")
        try:
            iam.create_role(RoleName="labwiz-untrusted", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                    "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        except iam.exceptions.EntityAlreadyExistsException:
            pass
        given = f"arn:aws:iam::{lab.info.account_id}:role/labwiz-untrusted"
    lab.write_state(inputs={"execution_role_arn": given},
                    credentials={"execution_role_arn": given})
    result = lab.doctor("execution-role")["execution-role"]
    assert result.status == "fail"
    assert expect in result.found
    assert "execution role" in result.remediation.lower() or "sagemaker.amazonaws.com" in \
        result.remediation


def test_secret_missing_and_invalid(lab):
    from kubernetes import client

    lab.write_state(inputs={"pod_access": "secret"}, credentials={"access_mode": "secret",
                                                                  "secret_name": "aws-secret"})
    result = lab.doctor("aws-secret")["aws-secret"]
    assert result.status == "fail"
    assert f"missing from namespace {lab.namespace}" in result.found
    assert f"kubectl create secret generic aws-secret -n {lab.namespace}" in result.remediation
    # double-encoded values (a classic of the lab's jq | base64 recipe) are not a key pair
    twice = base64.b64encode(base64.b64encode(b"AKIAABCDEFGHIJKLMNOP")).decode()
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="aws-secret"),
                           data={"AWS_ACCESS_KEY_ID": twice,
                                 "AWS_SECRET_ACCESS_KEY": base64.b64encode(b"x" * 40).decode()})
    lab.core().create_namespaced_secret(lab.namespace, body)
    try:
        result = lab.doctor("aws-secret")["aws-secret"]
        assert result.status == "fail" and "not an AWS access key pair" in result.found
        # a well-formed key that IAM does not know
        lab.core().patch_namespaced_secret("aws-secret", lab.namespace, {"data": {
            "AWS_ACCESS_KEY_ID": base64.b64encode(b"AKIAABCDEFGHIJKLMNOP").decode()}})
        result = lab.doctor("aws-secret")["aws-secret"]
        assert result.status == "fail" and "not known to IAM" in result.found
        # a live key passes
        iam = lab.clients.aws("iam")
        iam.create_user(UserName="labwiz-doctor-user")
        key = iam.create_access_key(UserName="labwiz-doctor-user")["AccessKey"]
        lab.core().patch_namespaced_secret("aws-secret", lab.namespace, {"data": {
            "AWS_ACCESS_KEY_ID": base64.b64encode(key["AccessKeyId"].encode()).decode(),
            "AWS_SECRET_ACCESS_KEY": base64.b64encode(
                key["SecretAccessKey"].encode()).decode()}})
        result = lab.doctor("aws-secret")["aws-secret"]
        assert result.status == "pass", result.found
        assert key["SecretAccessKey"] not in result.found
    finally:
        lab.core().delete_namespaced_secret("aws-secret", lab.namespace)


def test_bad_kfp_token(lab, tmp_path):
    """The sandbox's own KFP API is open (as a port-forward is); a KFP API server that wants a
    token, as a Kubeflow behind its auth service does, stands in for the signed-in dashboard."""
    import copy

    from wizard.sandbox.kfp_api import KfpApiServer
    from wizard.secrets import Secret

    server = KfpApiServer(tmp_path / "kfp", auth_token="the-right-session-token")
    server.start()
    try:
        target = copy.copy(lab.target)
        target.kfp_host = server.url
        target.kfp_token = Secret("not-the-token-kfp-wants")
        lab.write_state(inputs={"kfp_host": server.url})
        result = lab.doctor("kfp-auth", target=target)["kfp-auth"]
        target.kfp_token = Secret("the-right-session-token")
        good = lab.doctor("kfp-auth", target=target)["kfp-auth"]
    finally:
        server.stop()
    assert result.status == "fail"
    assert "HTTP 401" in result.found
    assert "authservice_session" in result.remediation
    assert "not-the-token-kfp-wants" not in result.found
    assert good.status == "pass", good.found


def test_kfp_unreachable(lab):
    import copy
    import socket

    # bound but not listening: connections are refused, and no parallel test can take the port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        target = copy.copy(lab.target)
        target.kfp_host = f"http://127.0.0.1:{port}"
        lab.write_state(inputs={"kfp_host": target.kfp_host})
        results = lab.doctor("kfp-api", "kfp-auth", target=target)
    assert results["kfp-api"].status == "fail"
    assert "did not answer" in results["kfp-api"].found
    assert "KF_PIPELINES_ENDPOINT" in results["kfp-api"].remediation
    assert results["kfp-auth"].status == "skip"


def test_v1_pipeline_file(lab, tmp_path):
    v1 = tmp_path / "mnist_classification_pipeline.py"
    v1.write_text("import kfp\nfrom kfp import components, dsl\nfrom kfp.aws import "
                  "use_aws_secret\n\n@dsl.pipeline(name='x')\ndef p():\n    op = "
                  "dsl.ContainerOp(name='a', image='busybox')\n    "
                  "op.apply(use_aws_secret('aws-secret'))\n")
    v2 = tmp_path / "v2.py"
    v2.write_text("from kfp import dsl\n\n@dsl.component\ndef add(a: int) -> int:\n    "
                  "return a\n")
    results = lab.doctor("kfp-v2-pipeline", pipeline_paths=[v1])
    result = results["kfp-v2-pipeline"]
    assert result.status == "fail"
    assert "kfp.aws" in result.found and "dsl.ContainerOp" in result.found
    assert f"{v1}:3" in result.found
    assert "@dsl.container_component" in result.remediation
    assert lab.doctor("kfp-v2-pipeline", pipeline_paths=[v2])["kfp-v2-pipeline"].status == "pass"


def test_not_reached_steps_do_not_fail(lab):
    lab.annotate(None)
    try:
        lab.write_state(steps={"credentials": None})
        result = lab.doctor("irsa-annotation")["irsa-annotation"]
    finally:
        lab.annotate(lab.pod_role_arn)
    assert result.status == "skip"
    assert result.found.startswith("Not reached yet: the lab's 'credentials' step has not run")


def test_images_from_another_region(lab, tmp_path):
    package = tmp_path / "pipeline.yaml"
    package.write_text("deploymentSpec:\n  executors:\n    train:\n      container:\n        image: "
                       "174872318107.dkr.ecr.us-west-2.amazonaws.com/kmeans:1\n")
    lab.write_state(steps={"compile": {"status": "done", "attempts": 1,
                                       "outputs": {"package_path": str(package)}}})
    result = lab.doctor("aws-region")["aws-region"]
    assert result.status == "fail"
    assert "image 174872318107.dkr.ecr.us-west-2.amazonaws.com/kmeans:1: us-west-2" in result.found
    assert "export AWS_REGION=eu-west-1" in result.remediation


def test_ack_controller_without_iam_role(lab):
    """The ACK controller's service account loses its IRSA annotation, then names a role IAM
    does not have: the controller could not call SageMaker, and ``ack-irsa`` says how to fix it."""
    annotation = "eks.amazonaws.com/role-arn"
    deployment = [d for d in lab.clients.apps_v1().list_namespaced_deployment("ack-system").items
                  if "sagemaker" in d.metadata.name][0]
    sa_name = deployment.spec.template.spec.service_account_name
    core = lab.core()
    arn = core.read_namespaced_service_account(sa_name, "ack-system").metadata.annotations[
        annotation]

    def set_annotation(value):
        """Set (None removes) the controller service account's role annotation."""
        core.patch_namespaced_service_account(sa_name, "ack-system", {
            "metadata": {"annotations": {annotation: value}}})

    ghost = f"arn:aws:iam::{lab.info.account_id}:role/labwiz-doctor-no-such-ack-role"
    set_annotation(None)
    try:
        missing = lab.doctor("ack-irsa")["ack-irsa"]
        set_annotation(ghost)
        unknown = lab.doctor("ack-irsa")["ack-irsa"]
    finally:
        set_annotation(arn)
    assert missing.status == "fail"
    assert f"ack-system/{sa_name} has no {annotation} annotation" in missing.found
    assert (f"kubectl -n ack-system annotate serviceaccount {sa_name} {annotation}=<role ARN> "
            "--overwrite") in missing.remediation
    assert f"rollout restart deployment {deployment.metadata.name}" in missing.remediation
    assert missing.doc_url.endswith("/user-docs/irsa/")
    assert unknown.status == "fail"
    assert f"names {ghost}, which does not exist" in unknown.found
    assert "annotate serviceaccount" in unknown.remediation
    healed = lab.doctor("ack-irsa")["ack-irsa"]
    assert healed.status == "pass" and arn in healed.found


def test_pod_checks_are_not_used_when_the_pods_get_no_aws_access(lab):
    """pod_access none (the credentials step's default): the pod role, its annotation and the
    aws-secret are skipped as not used, even with the annotation gone, never failed."""
    lab.write_state(inputs={"pod_access": "none"}, credentials={
        "access_mode": "none", "pod_role_arn": None, "secret_name": None})
    lab.annotate(None)
    try:
        results = lab.doctor("pod-role-trust", "irsa-annotation", "aws-secret", "pipeline-rbac")
    finally:
        lab.annotate(lab.pod_role_arn)
    for name in ("pod-role-trust", "irsa-annotation", "aws-secret"):
        assert results[name].status == "skip", (name, results[name].found)
        assert "not used: pod_access none" in results[name].found
        assert "ack-irsa" in results[name].found
    assert results["pipeline-rbac"].status == "pass"   # what the pods do need


def test_ack_role_without_passrole_on_the_execution_role(lab):
    """The controller's role keeps SageMaker but loses iam:PassRole: IAM's simulator (not the
    recorded state) says so, and the fix names the execution role and the PassedToService
    condition."""
    iam = lab.clients.aws("iam")
    full = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    ack_role = "ack-sagemaker-controller"
    iam.detach_role_policy(RoleName=ack_role, PolicyArn=full)
    iam.put_role_policy(RoleName=ack_role, PolicyName="sagemaker-only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}))
    try:
        denied = lab.doctor("ack-irsa")["ack-irsa"]
    finally:
        iam.delete_role_policy(RoleName=ack_role, PolicyName="sagemaker-only")
        iam.attach_role_policy(RoleName=ack_role, PolicyArn=full)
    execution = lab.info.execution_role_arn
    assert denied.status == "fail", denied.found
    assert (f"IAM denies {ack_role} iam:PassRole on the execution role {execution} "
            "(implicitDeny)") in denied.found
    assert "SageMaker refuses every job" in denied.found
    assert f"aws iam put-role-policy --role-name {ack_role}" in denied.remediation
    assert '"iam:PassedToService": "sagemaker.amazonaws.com"' in denied.remediation
    assert execution in denied.remediation
    assert lab.doctor("ack-irsa")["ack-irsa"].status == "pass"


def _start_held_run(lab):
    """Start a real one-task run with the sandbox's ``run=Pending`` fault on: KFP accepts it and
    it stays PENDING (its pods cannot be scheduled). Returns its id; the state records it as
    run-monitoring does while it waits."""
    from doctor_pipelines import one_task

    lab.set_faults("run=Pending")
    run = lab.clients.kfp.create_run_from_pipeline_func(
        one_task, arguments={"x": 3}, run_name="doctor-pending",
        experiment_name="doctor-pending")
    lab.write_state(
        steps={"upload": {"status": "done", "attempts": 1, "outputs": {
                   "kfp_host": lab.target.kfp_host}},
               "run-monitoring": {"status": "running", "attempts": 1}},
        ledger=[{"id": "doctor-run", "kind": "kfp-run", "name": run.run_id,
                 "step": "run-monitoring", "arn": None, "region": lab.info.region,
                 "namespace": lab.namespace, "details": {}, "created_at": "2026-11-23T10:00:00Z",
                 "deleted_at": None}])
    return run.run_id


def test_run_stuck_in_pending(lab, monkeypatch):
    """A run that never leaves PENDING: a warning at first, a failure once it has waited longer
    than the check's limit (lowered here instead of waiting five real minutes), and a pass once
    the run could start."""
    from wizard.doctor.checks import kfp as kfp_checks

    run_id = _start_held_run(lab)
    client = lab.clients.kfp
    try:
        time.sleep(1.0)  # an unheld run would have left PENDING by now (a worker starts at once)
        assert client.get_run(run_id).state == "PENDING"
        fresh = lab.doctor("run-pending")["run-pending"]
        monkeypatch.setattr(kfp_checks, "PENDING_LIMIT_S", 0)
        stuck = lab.doctor("run-pending")["run-pending"]
        monkeypatch.undo()
        lab.set_faults()  # the pods can be scheduled again: the held run starts
        deadline = time.monotonic() + 300  # generous: a loaded machine runs it slowly
        while client.get_run(run_id).state in ("PENDING", "RUNNING") and \
                time.monotonic() < deadline:
            time.sleep(0.3)
        started = lab.doctor("run-pending")["run-pending"]
    finally:
        lab.set_faults()
    assert fresh.status == "warn"
    assert f"Run {run_id} is PENDING" in fresh.found
    assert "kubectl get pods" in fresh.remediation
    assert stuck.status == "fail"
    assert f"Run {run_id} has been PENDING for" in stuck.found
    assert f"kubectl get pods -n {lab.namespace}" in stuck.remediation
    assert "kubectl describe pod" in stuck.remediation
    assert stuck.doc_url.startswith("https://www.kubeflow.org/")
    assert started.status == "pass", started.found
    assert f"Run {run_id} is SUCCEEDED" == started.found.rstrip(".")


def test_pending_run_terminated_is_canceled(lab):
    """A held run can be terminated before it ever starts (it becomes CANCELED, never runs)."""
    run_id = _start_held_run(lab)
    client = lab.clients.kfp
    try:
        client.terminate_run(run_id)
        lab.set_faults()
        deadline = time.monotonic() + 120  # wait for the run to leave PENDING, not a set time
        while client.get_run(run_id).state == "PENDING" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get_run(run_id).state == "CANCELED"
    finally:
        lab.set_faults()
