"""The learner's own things survive the lab byte for byte: a KFP pipeline and experiment that
carry the lab's names, a different processing script at the lab's S3 key, an ``aws-secret``, and
an execution role whose trust policy the lab must repair.

The lab runs steps 1-6 with ``--yes`` (pod access through the aws-secret), then cleanup. Every
comparison reads the sandbox through boto3, the kubernetes client and kfp.Client directly.
"""

from __future__ import annotations

import warnings

import pytest

from tests.steps.conftest import commands, run_lab, state

pytestmark = pytest.mark.timeout(900)

PIPELINE = "mnist-classification-pipeline"
EXPERIMENT = "mnist-kmeans-lab"
SCRIPT_KEY = "lab1/processing_code/kmeans_preprocessing.py"
SCRIPT = b"# the learner's own preprocessing, not the lab's\nprint('mine')\n"
ROLE = "learner-exec-role"


def _kfp(sandbox_info):
    """A kfp.Client on the sandbox's KFP API (not the wizard's client factory)."""
    import kfp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kfp.Client(host=sandbox_info["services"]["kfp"]["url"])


def _plant(tmp_path, sandbox_info, aws, kube) -> None:
    """The learner's pipeline (with a version), experiment, script and secret."""
    from kfp import compiler
    from kubernetes import client

    from tests.kfp_api.kfp_pipelines import sum_pipeline

    package = tmp_path / "mine.yaml"
    compiler.Compiler().compile(sum_pipeline, str(package))
    kfp = _kfp(sandbox_info)
    pipeline = kfp.upload_pipeline(str(package), pipeline_name=PIPELINE,
                                   description="the learner's own pipeline")
    kfp.upload_pipeline_version(str(package), "learner-v2", pipeline_id=pipeline.pipeline_id)
    kfp.create_experiment(EXPERIMENT, description="the learner's experiment",
                          namespace=sandbox_info["profile_namespace"])
    aws("s3").put_object(Bucket=sandbox_info["bucket"], Key=SCRIPT_KEY, Body=SCRIPT,
                         ContentType="text/x-python", Metadata={"owner": "learner"})
    secret = client.V1Secret(metadata=client.V1ObjectMeta(
        name="aws-secret", labels={"team": "ml"}, annotations={"note": "my keys"}),
        type="Opaque", string_data={"AWS_ACCESS_KEY_ID": "AKIALEARNER000000000",
                                    "AWS_SECRET_ACCESS_KEY": "learner-secret-value-0123456789abcd"})
    client.CoreV1Api(kube).create_namespaced_secret(sandbox_info["profile_namespace"], secret)
    import json

    aws("iam").create_role(RoleName=ROLE, Tags=[{"Key": "owner", "Value": "learner"}],
                           AssumeRolePolicyDocument=json.dumps({
                               "Version": "2012-10-17", "Statement": [{
                                   "Effect": "Allow", "Action": "sts:AssumeRole",
                                   "Principal": {"Service": "ec2.amazonaws.com"}}]}))
    aws("iam").attach_role_policy(RoleName=ROLE,
                                  PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")


def _snapshot(sandbox_info, aws, kube) -> dict:
    """The learner's things as the services list them, content included."""
    from kubernetes import client

    kfp = _kfp(sandbox_info)
    ns = sandbox_info["profile_namespace"]
    pid = kfp.get_pipeline_id(PIPELINE)
    pipeline = kfp.get_pipeline(pid)
    versions = sorted((v.pipeline_version_id, v.display_name, v.description) for v in
                      kfp.list_pipeline_versions(pid, page_size=100).pipeline_versions or [])
    experiment = kfp.get_experiment(experiment_name=EXPERIMENT, namespace=ns)
    s3 = aws("s3")
    head = s3.head_object(Bucket=sandbox_info["bucket"], Key=SCRIPT_KEY)
    body = s3.get_object(Bucket=sandbox_info["bucket"], Key=SCRIPT_KEY)["Body"].read()
    secret = client.CoreV1Api(kube).read_namespaced_secret("aws-secret", ns)
    iam = aws("iam")
    role = iam.get_role(RoleName=ROLE)["Role"]
    return {
        "role": (role["Arn"], role["AssumeRolePolicyDocument"], role.get("Tags"),
                 iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"],
                 iam.list_role_policies(RoleName=ROLE)["PolicyNames"]),
        "pipeline": (pid, pipeline.display_name, pipeline.description),
        "versions": versions,
        "experiment": (experiment.experiment_id, experiment.display_name,
                       experiment.description),
        "script": (body, head["ETag"], head.get("ContentType"), head.get("Metadata")),
        "secret": (secret.type, secret.data, secret.metadata.labels, secret.metadata.annotations),
    }


def test_learner_pipeline_experiment_script_and_secret_survive_the_lab(
        lab, tmp_path, sandbox_info, aws, kube):
    """Identical after the lab and after cleanup; the lab's own version and copies are gone."""
    _plant(tmp_path, sandbox_info, aws, kube)
    before = _snapshot(sandbox_info, aws, kube)
    assert before["script"][0] == SCRIPT

    role_arn = before["role"][0]
    made = run_lab(lab, "--skip", "run-monitoring,endpoint-test,cleanup",
                   answers={"pod_access": "secret", "execution_role_arn": role_arn}, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    during = _snapshot(sandbox_info, aws, kube)
    # the pipeline, the experiment and the script are untouched while the lab runs; the lab
    # added one version of its own to the pipeline and uploaded its script next to the learner's
    assert {k: during[k] for k in ("pipeline", "experiment", "script")} == \
        {k: before[k] for k in ("pipeline", "experiment", "script")}
    assert len(during["versions"]) == len(before["versions"]) + 1
    # the given execution role did not trust SageMaker: its trust policy was repaired (--yes)
    assert during["role"][1] != before["role"][1] and during["role"][2:] == before["role"][2:]
    assert set(before["versions"]) < set(during["versions"])
    doc = state(lab)
    short = doc["lineage"][:8]
    outputs = doc["steps"]["data-upload"]["outputs"]
    assert outputs["script_uri"].endswith(f"lab1/processing_code/labwiz-{short}/"
                                          "kmeans_preprocessing.py"), outputs
    reused = {(r["kind"], r["name"]) for r in doc["ledger"] if r.get("state") == "reused"}
    assert {("kfp-pipeline", PIPELINE), ("kfp-experiment", EXPERIMENT)} <= reused
    created = {r["kind"] for r in doc["ledger"] if r.get("state") == "created"}
    assert "kfp-pipeline" not in created and "kfp-experiment" not in created
    assert "exists with other content and the lab did not write it" in made.stdout

    cleaned = run_lab(lab, "--only", "cleanup", timeout=600)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    after = _snapshot(sandbox_info, aws, kube)
    assert after == before
    keys = {o["Key"] for o in aws("s3").list_objects_v2(
        Bucket=sandbox_info["bucket"], Prefix="lab1/").get("Contents", [])}
    assert keys == {SCRIPT_KEY}, keys
    from kubernetes import client

    names = {s.metadata.name for s in
             client.CoreV1Api(kube).list_namespaced_secret(sandbox_info["profile_namespace"]).items}
    assert "aws-secret-labwiz-backup" not in names
    kept = {(k["kind"], k["name"]) for k in state(lab)["steps"]["cleanup"]["outputs"]["kept"]}
    assert {("kfp-pipeline", PIPELINE), ("kfp-experiment", EXPERIMENT)} <= kept
    assert f"aws iam update-assume-role-policy --role-name {ROLE}" in commands(lab, "cleanup")
