"""Crash matrix over the ledger's create/record window and over cleanup.

The kill is deterministic: ``LABWIZ_CRASH_AT=create:<kind>`` makes the ledger's intent helper
SIGKILL its own process right after the create call returned and before the row is confirmed;
``cleanup:<kind>`` kills cleanup right after it removed an item of that kind and before the row is
marked. Each point is hit once, then the next run resumes (and reconciles the intent) and goes on
to the next point. Two labs share the module's sandbox:

* lab A (``pod_access: secret``): IAM role, user and access key, the aws-secret, the RBAC Role and
  RoleBinding, an S3 object, the KFP pipeline and experiment, the KFP run (and a kill when the
  first custom resource is recorded), then cleanup killed at seven points;
* lab B (``pod_access: irsa``): the service account's annotation and a KFP pipeline version (lab
  A's pipeline exists, so B adds a version), then cleanup killed after removing that version.

Afterwards an independent listing (boto3, the kubernetes client, kfp.Client, never cleanup's own
code) finds nothing of either lab, and the learner's resources planted first are unchanged.
"""

from __future__ import annotations

import json
import warnings

import pytest

from tests.conftest import run_labwiz
from tests.reliability.reliability_harness import run_and_kill
from tests.steps.conftest import state

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
PLURALS = ("processingjobs", "hyperparametertuningjobs", "trainingjobs", "models",
           "endpointconfigs", "endpoints", "transformjobs")
SKIP_TAIL = "run-monitoring,endpoint-test,cleanup"

LAB_A_CREATE = ["iam-role", "iam-user", "iam-access-key", "k8s-secret", "k8s-role",
                "k8s-rolebinding", "s3-object", "kfp-pipeline", "kfp-experiment"]
LAB_A_CLEANUP = ["kfp-run", "custom-resource", "sagemaker-endpoint", "kfp-pipeline", "s3-prefix",
                 "s3-object", "k8s-secret", "iam-access-key", "iam-role"]


def _run(lab, answers, *args, crash: str | None = None, timeout: float = 600):
    """``labwiz run --sandbox --yes`` on ``lab``, killed at ``crash`` when given."""
    argv = ["--state-dir", str(lab), "run", "--sandbox", "--yes", "--answers", str(answers), *args]
    return run_labwiz(argv, env={"LABWIZ_CRASH_AT": crash} if crash else None, timeout=timeout)


def _crash(lab, answers, point: str, *args):
    """Run until ``point`` kills the process; check it died there and left the row open."""
    result = _run(lab, answers, *args, crash=point)
    assert result.returncode == -9, (point, result.returncode, result.stdout[-3000:],
                                     result.stderr[-3000:])
    kind = point.split(":", 1)[1]
    rows = [r for r in state(lab)["ledger"] if r["kind"] == kind]
    if point.startswith("create:"):
        assert any(r.get("state") == "intent" for r in rows), (point, rows)
    else:
        assert any(not r.get("deleted_at") for r in rows) or kind in (
            "s3-prefix", "sagemaker-endpoint", "custom-resource"), (point, rows)


def _answers(tmp_path, name: str, **values):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(values))
    return path


def _new_lab(tmp_path, sandbox_home, name):
    import os

    lab = tmp_path / name
    lab.mkdir(mode=0o700)
    os.symlink(sandbox_home / "sandbox", lab / "sandbox")
    return lab


def _kfp(sandbox_info):
    import kfp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kfp.Client(host=sandbox_info["services"]["kfp"]["url"])


def _plant_learner(sandbox_info, aws, kube) -> None:
    """The learner's own things: an object in the lab's folder, a role, a secret."""
    from kubernetes import client

    aws("s3").put_object(Bucket=sandbox_info["bucket"], Key="lab1/learner/notes.txt",
                         Body=b"my notes", Metadata={"owner": "learner"})
    aws("s3").put_object(Bucket=sandbox_info["bucket"], Key="team/data.csv", Body=b"a,b\n1,2\n")
    aws("iam").create_role(RoleName="learner-own-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ec2.amazonaws.com"}}]}),
        Tags=[{"Key": "owner", "Value": "learner"}])
    client.CoreV1Api(kube).create_namespaced_secret(
        sandbox_info["profile_namespace"],
        client.V1Secret(metadata=client.V1ObjectMeta(name="learner-own-secret"),
                        string_data={"token": "learner-own-token-value"}))


def _learner(sandbox_info, aws, kube) -> dict:
    """The learner's things, content included, read straight from the services."""
    from kubernetes import client

    s3, bucket = aws("s3"), sandbox_info["bucket"]
    objects = {}
    for key in ("lab1/learner/notes.txt", "team/data.csv"):
        got = s3.get_object(Bucket=bucket, Key=key)
        objects[key] = (got["Body"].read(), got["ETag"], got.get("Metadata"))
    role = aws("iam").get_role(RoleName="learner-own-role")["Role"]
    secret = client.CoreV1Api(kube).read_namespaced_secret("learner-own-secret",
                                                           sandbox_info["profile_namespace"])
    execution = aws("iam").get_role(RoleName=sandbox_info["execution_role_arn"].split("/")[-1])
    return {"objects": objects,
            "role": (role["Arn"], role["AssumeRolePolicyDocument"], role.get("Tags")),
            "execution_role": execution["Role"]["Arn"],
            "secret": (secret.data, secret.type, secret.metadata.labels)}


def _lab_leftovers(sandbox_info, aws, kube, lineages: list[str]) -> dict:
    """Everything of the labs an independent listing still finds."""
    from kubernetes import client

    shorts = [lin.replace("-", "")[:8] for lin in lineages]
    iam = aws("iam")
    found: dict[str, list] = {}
    roles = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = {t["Key"]: t["Value"] for t in
                    iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", [])}
            if tags.get("labwiz:lineage") in lineages or any(s in role["RoleName"] for s in shorts):
                roles.append(role["RoleName"])
    found["iam roles"] = roles
    found["iam users"] = [u["UserName"] for u in iam.list_users()["Users"]
                          if u["UserName"].startswith("labwiz-")]
    keys = [o["Key"] for o in aws("s3").list_objects_v2(
        Bucket=sandbox_info["bucket"], Prefix="lab1/").get("Contents", [])]
    found["s3 keys"] = [k for k in keys if not k.startswith("lab1/learner/")]
    kfp = _kfp(sandbox_info)
    ns = sandbox_info["profile_namespace"]
    found["kfp pipelines"] = [p.display_name for p in kfp.list_pipelines(page_size=200).pipelines or []
                              if p.display_name == "mnist-classification-pipeline"]
    found["kfp experiments"] = [e.display_name for e in kfp.list_experiments(
        page_size=200, namespace=ns).experiments or [] if e.display_name == "mnist-kmeans-lab"]
    found["kfp runs"] = [r.display_name for r in kfp.list_runs(page_size=200, namespace=ns).runs or []
                         if any(s in (r.display_name or "") for s in [lin[:8] for lin in lineages])]
    custom = client.CustomObjectsApi(kube)
    found["custom resources"] = [
        f"{plural}/{o['metadata']['name']}" for plural in PLURALS
        for o in custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural)["items"]
        if (o["metadata"].get("labels") or {}).get("labwiz.dev/lineage") in lineages]
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    found["secrets"] = [s.metadata.name for s in core.list_namespaced_secret(ns).items
                        if s.metadata.name.startswith("aws-secret")]
    found["rbac"] = [r.metadata.name for r in rbac.list_namespaced_role(ns).items
                     + rbac.list_namespaced_role_binding(ns).items
                     if r.metadata.name.startswith("labwiz-")]
    sa = core.read_namespaced_service_account(sandbox_info["service_account"], ns)
    found["annotations"] = [k for k in (sa.metadata.annotations or {})
                            if k == "eks.amazonaws.com/role-arn"]
    sm = aws("sagemaker")
    tagged = []
    for arn in ([e["EndpointArn"] for e in sm.list_endpoints()["Endpoints"]]
                + [c["EndpointConfigArn"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
                + [m["ModelArn"] for m in sm.list_models()["Models"]]):
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags", [])}
        if tags.get("labwiz:lineage") in lineages:
            tagged.append(arn)
    found["sagemaker (tagged)"] = tagged
    found["sagemaker jobs running"] = [
        j["TrainingJobName"] for j in sm.list_training_jobs(StatusEquals="InProgress")
        ["TrainingJobSummaries"]]
    return {k: v for k, v in found.items() if v}


def test_crash_between_every_create_and_its_record_and_during_cleanup(
        tmp_path, sandbox_home, sandbox_info, aws, kube):
    """Every kill point is hit; after the resumes and the cleanups nothing of either lab is
    listed anywhere and the learner's things are unchanged."""
    _plant_learner(sandbox_info, aws, kube)
    learner_before = _learner(sandbox_info, aws, kube)
    lab_a, lab_b = _new_lab(tmp_path, sandbox_home, "a"), _new_lab(tmp_path, sandbox_home, "b")
    answers_a = _answers(tmp_path, "a", pod_access="secret")
    answers_b = _answers(tmp_path, "b", pod_access="irsa")

    # lab A, steps 1-6, killed between each kind's create and its record
    for kind in LAB_A_CREATE:
        _crash(lab_a, answers_a, f"create:{kind}", "--skip", SKIP_TAIL)
    done = _run(lab_a, answers_a, "--skip", SKIP_TAIL)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = state(lab_a)
    assert not [r for r in doc["ledger"] if r.get("state") == "intent"], "an intent was left open"
    live = [(r["kind"], r["name"]) for r in doc["ledger"] if not r.get("deleted_at")]
    assert len(live) == len(set(live)), f"duplicate ledger rows: {live}"
    assert {k for k, _n in live} >= set(LAB_A_CREATE)

    # lab B: the annotation and a pipeline version (A's pipeline exists), then its cleanup
    _crash(lab_b, answers_b, "create:k8s-annotation", "--skip", SKIP_TAIL)
    _crash(lab_b, answers_b, "create:kfp-pipeline-version", "--skip", SKIP_TAIL)
    done = _run(lab_b, answers_b, "--skip", SKIP_TAIL)
    assert done.returncode == 0, done.stdout + done.stderr
    rows_b = state(lab_b)["ledger"]
    assert ("kfp-pipeline", "reused") in {(r["kind"], r.get("state")) for r in rows_b}
    _crash(lab_b, answers_b, "cleanup:kfp-pipeline-version", "--only", "cleanup")
    _crash(lab_b, answers_b, "cleanup:iam-role", "--only", "cleanup")
    cleaned = _run(lab_b, answers_b, "--only", "cleanup")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert "mnist-classification-pipeline" in {
        p.display_name for p in _kfp(sandbox_info).list_pipelines(page_size=200).pipelines}, \
        "lab B removed lab A's pipeline, which it only reused"

    # lab A: the run (killed after starting it, and when its first custom resource is recorded)
    _crash(lab_a, answers_a, "create:kfp-run", "--skip", "endpoint-test,cleanup")
    killed = run_and_kill(lab_a, ["--answers", str(answers_a), "--skip", "endpoint-test,cleanup"],
                          event={"event": "resource.created", "kind": "custom-resource"},
                          timeout=600)
    assert killed["killed"], killed["output"][-3000:]
    done = _run(lab_a, answers_a, "--skip", "cleanup", timeout=900)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    runs = {r["name"] for r in state(lab_a)["ledger"] if r["kind"] == "kfp-run"
            and r.get("state") == "created"}
    assert len(runs) == 1, runs

    # lab A's cleanup, killed after removing one item of each of these kinds
    for kind in LAB_A_CLEANUP:
        _crash(lab_a, answers_a, f"cleanup:{kind}")
    cleaned = _run(lab_a, answers_a, timeout=900)
    assert cleaned.returncode == 0, cleaned.stdout[-5000:] + cleaned.stderr[-3000:]

    lineages = [state(lab_a)["lineage"], state(lab_b)["lineage"]]
    assert _lab_leftovers(sandbox_info, aws, kube, lineages) == {}
    assert _learner(sandbox_info, aws, kube) == learner_before
