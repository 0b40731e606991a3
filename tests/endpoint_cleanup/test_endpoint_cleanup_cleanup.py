"""Step 9 (cleanup) against the sandbox: after steps 1–2 and staged pipeline leftovers, exactly
what the lab created is gone (counted through the APIs) and what it did not create survives."""

from __future__ import annotations

from tests.endpoint_cleanup import endpoint_cleanup_stage as stage
from tests.steps.conftest import commands, run_lab, state
from wizard.kmeans_images import kmeans_image_uri
from wizard.state import StateStore

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
IRSA = "eks.amazonaws.com/role-arn"


def _sm_names(sm) -> dict:
    """Every SageMaker endpoint, endpoint config and model name in the account."""
    return {"endpoints": {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]},
            "configs": {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]},
            "models": {m["ModelName"] for m in sm.list_models()["Models"]}}


def _crs(kube, namespace: str) -> set:
    """The endpoint-related custom resources in the namespace, as ``plural/name``."""
    from kubernetes import client

    api = client.CustomObjectsApi(kube)
    return {f"{plural}/{o['metadata']['name']}" for plural in ("models", "endpointconfigs", "endpoints")
            for o in api.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"]}


def _preexisting_secret(kube, namespace: str) -> None:
    """An ``aws-secret`` the wizard did not create."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    body = client.V1Secret(metadata=client.V1ObjectMeta(name="aws-secret"),
                           string_data={"AWS_ACCESS_KEY_ID": "AKIAPREEXISTING"})
    try:
        client.CoreV1Api(kube).create_namespaced_secret(namespace, body)
    except ApiException as exc:
        assert exc.status == 409


def _direct_endpoint(sm, name: str, role: str, uri: str, image: str,
                     tags: list | None = None) -> None:
    """A model, config and endpoint made straight through the SageMaker API (with ``tags``)."""
    tagged = {"Tags": tags} if tags else {}
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": image, "ModelDataUrl": uri}, **tagged)
    sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{name}-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}], **tagged)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", **tagged)


def _kfp_client(lab):
    """The lab's own kfp.Client on the sandbox (as the steps get it)."""
    import warnings

    from wizard.clients import Clients
    from wizard.target import resolve_target

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Clients(resolve_target(lab, sandbox=True)).kfp


def _kfp_objects(lab) -> dict:
    """A pipeline, a second version and an experiment made in KFP, recorded in the ledger as the
    upload step records them."""
    from kfp import compiler

    from tests.kfp_api.kfp_pipelines import sum_pipeline

    package = lab.parent / "sum.yaml"
    compiler.Compiler().compile(sum_pipeline, str(package))
    kfp = _kfp_client(lab)
    pipeline = kfp.upload_pipeline(str(package), pipeline_name=f"cl-{lab.parent.name}")
    version = kfp.upload_pipeline_version(str(package), "cl-v2", pipeline_id=pipeline.pipeline_id)
    experiment = kfp.create_experiment(f"cl-exp-{lab.parent.name}")
    ids = {"pipeline": pipeline.pipeline_id, "version": version.pipeline_version_id,
           "experiment": experiment.experiment_id}
    stage.add_ledger(lab, [
        {"kind": "kfp-pipeline", "name": pipeline.display_name, "details": {"id": ids["pipeline"]}},
        {"kind": "kfp-pipeline-version", "name": "cl-v2",
         "details": {"id": ids["version"], "pipeline_id": ids["pipeline"]}},
        {"kind": "kfp-experiment", "name": experiment.display_name,
         "details": {"id": ids["experiment"]}}])
    return ids


def _assert_kfp_gone(lab, ids: dict) -> None:
    """KFP answers 404 for each object cleanup removed."""
    kfp = _kfp_client(lab)
    for get in (lambda: kfp.get_pipeline(ids["pipeline"]),
                lambda: kfp.get_pipeline_version(ids["pipeline"], ids["version"]),
                lambda: kfp.get_experiment(experiment_id=ids["experiment"])):
        try:
            get()
        except Exception as exc:  # noqa: BLE001 - the client raises its ApiException
            assert getattr(exc, "status", None) == 404, exc
        else:
            raise AssertionError("a KFP object the wizard created survived cleanup")


def test_cleanup_of_secret_access_removes_user_key_and_secret(lab, aws, kube, sandbox_info):
    """The older access mode: an IAM user whose key sits in aws-secret; all three go."""
    namespace = sandbox_info["profile_namespace"]
    result = run_lab(lab, "--only", "credentials,data-upload", answers={"pod_access": "secret"})
    assert result.returncode == 0, result.stdout + result.stderr
    doc = state(lab)
    users = [r["name"] for r in doc["ledger"] if r["kind"] == "iam-user"]
    keys = [r["name"] for r in doc["ledger"] if r["kind"] == "iam-access-key"]
    assert users and keys and any(r["kind"] == "k8s-secret" for r in doc["ledger"])
    kfp_ids = _kfp_objects(lab)
    # not confirmed (headless without --yes): nothing is deleted
    declined = run_lab(lab, "--only", "cleanup", yes=False)
    assert declined.returncode == 1  # the cleanup step fails: it was not confirmed
    assert "Cleanup was not confirmed; nothing was deleted" in declined.stdout
    assert users[0] in {u["UserName"] for u in aws("iam").list_users()["Users"]}
    result = run_lab(lab, "--only", "cleanup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kfp experiment delete" in result.stdout  # short on the screen, whole in the file
    _assert_kfp_gone(lab, kfp_ids)
    assert f"aws iam delete-access-key --user-name {users[0]} --access-key-id" in commands(lab, "cleanup")
    iam = aws("iam")
    assert not set(users) & {u["UserName"] for u in iam.list_users()["Users"]}
    made = {r["name"] for r in doc["ledger"] if r["kind"] == "iam-role"}
    assert made and not made & {r["RoleName"] for r in iam.list_roles()["Roles"]}
    from kubernetes import client

    names = {s.metadata.name for s in client.CoreV1Api(kube).list_namespaced_secret(namespace).items}
    assert "aws-secret" not in names
    assert all(r["deleted_at"] for r in state(lab)["ledger"])


def test_cleanup_removes_exactly_what_the_lab_made(lab, aws, kube, sandbox_info):
    """Steps 1–2 plus staged leftovers: the lab's things go, the rest stays; twice is fine."""
    namespace, role = sandbox_info["profile_namespace"], sandbox_info["execution_role_arn"]
    _preexisting_secret(kube, namespace)
    # steps 1–2 for real, with the lab account's own execution role and bucket (pre-existing)
    result = run_lab(lab, "--only", "credentials,data-upload",
                     answers={"execution_role_arn": role, "pod_access": "irsa"})
    assert result.returncode == 0, result.stdout + result.stderr
    creds = state(lab)["steps"]["credentials"]["outputs"]
    bucket = state(lab)["steps"]["data-upload"]["outputs"]["bucket"]
    image = kmeans_image_uri(sandbox_info["region"])
    uri = stage.put_model(aws, lab, bucket, key="lab1/output/cl-job/output/model.tar.gz")
    lineage = state(lab)["lineage"]
    resources = stage.create_endpoint_crs(kube, namespace, "cl-cr", role, uri, image, lineage)
    sm = aws("sagemaker")
    _direct_endpoint(sm, "cl-direct", role, uri, image)
    stage.finish_run_monitoring(lab, "cl-cr", uri, resources)
    stage.add_ledger(lab, [{"kind": "sagemaker-endpoint", "name": "cl-direct"}])
    # what only the lineage tag remembers: a pipeline's endpoint whose custom resources are gone
    # (deleted with ACK's retain policy, say) and that no ledger row or run output names
    _direct_endpoint(sm, "cl-tagged", role, uri, image,
                     tags=[{"Key": "labwiz:lineage", "Value": lineage}])
    # someone else's model and object, in the same account and bucket, and another lab's model
    sm.create_model(ModelName="cl-bystander", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": image, "ModelDataUrl": uri})
    sm.create_model(ModelName="cl-other-lab", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": image, "ModelDataUrl": uri},
                    Tags=[{"Key": "labwiz:lineage", "Value": "another-lab-lineage"}])
    aws("s3").put_object(Bucket=bucket, Key="team/notes.txt", Body=b"not the lab's")
    stage.wait_arn(kube, namespace, "endpoints", "cl-cr")

    made = {r["name"] for r in state(lab)["ledger"] if r["kind"] == "iam-role"}
    assert made and all(name.startswith("labwiz-") for name in made)

    explained = run_lab(lab, "--only", "cleanup", "--explain")
    assert explained.returncode == 0, explained.stdout + explained.stderr
    assert f"kubectl delete endpoints.sagemaker.services.k8s.aws cl-cr -n {namespace}" in explained.stdout
    assert "aws sagemaker delete-endpoint --endpoint-name cl-direct" in explained.stdout
    assert "aws iam delete-role --role-name labwiz-kfp-pod-" in explained.stdout
    assert "cl-cr" in _sm_names(sm)["endpoints"]  # --explain changed nothing

    result = run_lab(lab, "--only", "cleanup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Cleanup plan" in result.stdout

    names = _sm_names(sm)
    lab_names = {"cl-cr", "cl-cr-config", "cl-cr-model", "cl-direct", "cl-direct-config",
                 "cl-direct-model", "cl-tagged", "cl-tagged-config", "cl-tagged-model"}
    assert not (names["endpoints"] | names["configs"] | names["models"]) & lab_names
    assert {"cl-bystander", "cl-other-lab"} <= names["models"]
    # the tag sweep's command names the lab's real lineage, no placeholder
    assert ("aws resourcegroupstaggingapi get-resources --resource-type-filters sagemaker "
            f"--tag-filters Key=labwiz:lineage,Values={state(lab)['lineage']}") in \
        (lab / "commands" / "cleanup.sh").read_text()
    assert not {n for n in _crs(kube, namespace) if n.split("/")[1].startswith("cl-cr")}
    iam = aws("iam")
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert not roles & made
    assert role.split("/")[-1] in roles  # the pre-existing execution role survives
    users = {u["UserName"] for u in iam.list_users()["Users"]}
    assert not {u for u in users if u.startswith("labwiz-")}
    from kubernetes import client

    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    assert core.read_namespaced_secret("aws-secret", namespace).data  # pre-existing secret survives
    sa = core.read_namespaced_service_account(creds["service_account"], namespace)
    assert IRSA not in (sa.metadata.annotations or {})
    assert "labwiz-ack-sagemaker" not in {r.metadata.name for r in rbac.list_namespaced_role(namespace).items}
    keys = {o["Key"] for o in aws("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert "team/notes.txt" in keys and not {k for k in keys if k.startswith("lab1/")}
    aws("s3").head_bucket(Bucket=bucket)  # the pre-existing bucket survives
    doc = state(lab)
    assert all(r["deleted_at"] for r in doc["ledger"]), [r for r in doc["ledger"] if not r["deleted_at"]]
    outputs = doc["steps"]["cleanup"]["outputs"]
    assert {"s3-bucket", "iam-role"} <= {k["kind"] for k in outputs["kept"]}

    # once done, it verifies; forced to run again, everything is already gone and that is fine
    again = run_lab(lab, "--only", "cleanup")
    assert again.returncode == 0 and "still verified" in again.stdout, again.stdout
    store = StateStore(lab)
    doc = store.load()
    doc["steps"]["cleanup"] = {"status": "pending", "attempts": 1}
    store.save(doc)
    twice = run_lab(lab, "--only", "cleanup")
    assert twice.returncode == 0, twice.stdout + twice.stderr
    assert "Removed " not in twice.stdout.replace("Removed 0 resource", "")
    assert "cl-bystander" in _sm_names(sm)["models"]


def test_cleanup_puts_back_an_aws_secret_that_existed_before(lab, aws, kube, sandbox_info):
    """The learner's own aws-secret, replaced with the lab's key after they agreed (--yes), is
    copied aside first and put back by cleanup exactly as it was (data, type, labels,
    annotations); the copy, the lab's IAM user and its key go."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    namespace = sandbox_info["profile_namespace"]
    core = client.CoreV1Api(kube)
    try:
        core.delete_namespaced_secret("aws-secret", namespace)
    except ApiException as exc:
        assert exc.status == 404
    _preexisting_secret(kube, namespace)
    original = core.read_namespaced_secret("aws-secret", namespace)
    try:
        made = run_lab(lab, "--only", "credentials", answers={"pod_access": "secret"})
        assert made.returncode == 0, made.stdout + made.stderr
        row = next(r for r in state(lab)["ledger"] if r["name"] == f"{namespace}/aws-secret"
                   and not r["deleted_at"])
        assert row["details"].get("existed_before") is True
        assert row["details"]["backup"] == f"{namespace}/aws-secret-labwiz-backup"
        replaced = core.read_namespaced_secret("aws-secret", namespace)
        assert replaced.data != original.data  # the lab's key is in it while the lab runs
        users = [r["name"] for r in state(lab)["ledger"] if r["kind"] == "iam-user"]
        assert users

        cleaned = run_lab(lab, "--only", "cleanup")
        assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
        assert "Put back as it was before the lab: k8s-secret" in cleaned.stdout
        back = core.read_namespaced_secret("aws-secret", namespace)
        assert (back.data, back.type, back.metadata.labels, back.metadata.annotations) == \
            (original.data, original.type, original.metadata.labels, original.metadata.annotations)
        names = {s.metadata.name for s in core.list_namespaced_secret(namespace).items}
        assert "aws-secret-labwiz-backup" not in names
        assert not set(users) & {u["UserName"] for u in aws("iam").list_users()["Users"]}
    finally:
        core.delete_namespaced_secret("aws-secret", namespace)
