"""The whole lab, as `make demo` runs it: an empty sandbox through all nine steps to cleaned up.

Before the lab runs, the account gets a few things of the learner's own (a bucket with an object,
an IAM role and a managed policy): cleanup must leave them, and everything the wizard made must
be gone afterwards, counted through the APIs.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_labwiz

pytestmark = pytest.mark.slow

#: what the learner had before the lab (names no lab step uses)
OWN_BUCKET = "learner-own-bucket-e2e"
OWN_KEY = "notes/keep-me.txt"
OWN_ROLE = "learner-own-role"
OWN_POLICY = "learner-own-policy"
LAB_KINDS = ("processingjobs", "hyperparametertuningjobs", "trainingjobs", "models",
             "endpointconfigs", "endpoints", "transformjobs")


def _aws(info: dict):
    """A boto3 client factory on the sandbox."""
    import boto3

    def client(service):
        """A client for ``service``."""
        return boto3.client(service, endpoint_url=info["services"]["aws"]["url"],
                            region_name=info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return client


def _learner_owns(aws, region: str) -> str:
    """Create the learner's own bucket, object, role and policy; the policy's ARN."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=OWN_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=OWN_BUCKET, Key=OWN_KEY, Body=b"not the wizard's")
    iam = aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    iam.create_role(RoleName=OWN_ROLE, AssumeRolePolicyDocument=json.dumps(trust),
                    Tags=[{"Key": "team", "Value": "learners"}])
    policy = iam.create_policy(PolicyName=OWN_POLICY, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                "Resource": f"arn:aws:s3:::{OWN_BUCKET}"}]}))
    iam.attach_role_policy(RoleName=OWN_ROLE, PolicyArn=policy["Policy"]["Arn"])
    return policy["Policy"]["Arn"]


@pytest.fixture(scope="module")
def finished_lab(tmp_path_factory):
    """A lab run once from scratch with `labwiz run --sandbox --yes`; the sandbox stays up."""
    state = tmp_path_factory.mktemp("whole-lab")
    up = run_labwiz(["--state-dir", str(state), "sandbox", "up"], timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    info = json.loads((state / "sandbox" / "sandbox.json").read_text())
    own_policy_arn = _learner_owns(_aws(info), info["region"])
    result = run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--yes"], timeout=900)
    yield state, result, own_policy_arn
    run_labwiz(["--state-dir", str(state), "sandbox", "down"], timeout=120)


def test_all_nine_steps_done_and_predictions_printed(finished_lab):
    state, result, _ = finished_lab
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    doc = json.loads((state / "state.json").read_text())
    assert [doc["steps"][s]["status"] for s in doc["steps"]] == ["done"] * 9
    assert "label" in result.stdout and "cluster" in result.stdout and "purity" in result.stdout.lower()
    endpoint = doc["steps"]["endpoint-test"]["outputs"]
    assert endpoint["predictions"]["count"] > 0
    assert endpoint["purity"] > 0.3, "k-means on handwritten digits should beat chance (0.1) clearly"


def _iam_missing(call, **kwargs) -> bool:
    """Whether an IAM read says the entity does not exist."""
    try:
        call(**kwargs)
    except Exception as exc:  # noqa: BLE001
        return getattr(exc, "response", {}).get("Error", {}).get("Code") == "NoSuchEntity"
    return False


def test_nothing_of_the_lab_left_after_cleanup(finished_lab):
    state, result, own_policy_arn = finished_lab
    assert result.returncode == 0
    info = json.loads((state / "sandbox" / "sandbox.json").read_text())
    doc = json.loads((state / "state.json").read_text())
    lineage = doc["lineage"]
    from kubernetes import client, config

    aws = _aws(info)

    # SageMaker: nothing billable, nothing still running.
    sm = aws("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    for op, key in (("list_training_jobs", "TrainingJobSummaries"),
                    ("list_processing_jobs", "ProcessingJobSummaries"),
                    ("list_transform_jobs", "TransformJobSummaries"),
                    ("list_hyper_parameter_tuning_jobs", "HyperParameterTuningJobSummaries")):
        assert getattr(sm, op)(StatusEquals="InProgress")[key] == [], op

    # Kubernetes: none of the seven lab kinds in any namespace.
    configuration = client.Configuration()
    config.load_kube_config(config_file=info["kubeconfig"], client_configuration=configuration)
    custom = client.CustomObjectsApi(client.ApiClient(configuration))
    for plural in LAB_KINDS:
        items = custom.list_cluster_custom_object("sagemaker.services.k8s.aws", "v1alpha1", plural)
        assert items["items"] == [], plural

    # IAM, by tag: no role, user or customer managed policy carries this lab's lineage.
    iam = aws("iam")

    def tagged(tags) -> bool:
        """Whether IAM tags carry this lab's lineage."""
        return {t["Key"]: t["Value"] for t in tags or []}.get("labwiz:lineage") == lineage
    roles = [r["RoleName"] for p in iam.get_paginator("list_roles").paginate() for r in p["Roles"]]
    users = [u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]]
    policies = [x["Arn"] for p in iam.get_paginator("list_policies").paginate(Scope="Local")
                for x in p["Policies"]]
    assert [r for r in roles if tagged(iam.list_role_tags(RoleName=r).get("Tags"))] == []
    assert [u for u in users if tagged(iam.list_user_tags(UserName=u).get("Tags"))] == []
    assert [a for a in policies if tagged(iam.list_policy_tags(PolicyArn=a).get("Tags"))] == []

    # IAM, by ledger: every role, user, key and policy the wizard recorded is gone.
    rows = [r for r in doc["ledger"] if r["kind"].startswith("iam-")]
    assert "iam-role" in {r["kind"] for r in rows}, "the lab should have created IAM roles"
    for row in rows:
        name, kind = row["name"], row["kind"]
        if kind == "iam-role":
            assert _iam_missing(iam.get_role, RoleName=name), name
        elif kind == "iam-user":
            assert _iam_missing(iam.get_user, UserName=name), name
        elif kind == "iam-access-key":
            user = row["details"]["user"]
            assert _iam_missing(iam.list_access_keys, UserName=user) or name not in {
                k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
        elif row.get("arn") and ":policy/" in row["arn"]:
            assert row["arn"] not in policies, row["arn"]
        else:  # an inline policy, named on/entity/policy
            on, entity, policy = (row["details"].get(k) for k in ("on", "entity", "policy"))
            on, entity, policy = (on or name.split("/")[0], entity or name.split("/")[1],
                                  policy or name.split("/")[2])
            getter = iam.get_user_policy if on == "user" else iam.get_role_policy
            key = "UserName" if on == "user" else "RoleName"
            assert _iam_missing(getter, **{key: entity, "PolicyName": policy}), name
    assert all(row["deleted_at"] for row in doc["ledger"]), "every ledger row is marked deleted"

    # What existed before the lab is still there, untouched.
    assert "SageMakerExecutionRole" in roles
    assert OWN_ROLE in roles and own_policy_arn in policies
    attached = iam.list_attached_role_policies(RoleName=OWN_ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [own_policy_arn]
    s3 = aws("s3")
    s3.head_bucket(Bucket=info["bucket"])
    assert s3.get_object(Bucket=OWN_BUCKET, Key=OWN_KEY)["Body"].read() == b"not the wizard's"
