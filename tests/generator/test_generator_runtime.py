"""The embedded runtime: building the resource, and waiting with ACK's semantics.

The cluster cases run against the sandbox's Kubernetes API server with the
real kubernetes client; the test plays the ACK controller by writing status.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time

import pytest

from generator_helpers import PYTHON, REPO_ROOT, Controller, cond, start_kube, synced
from wizard.generator import runtime as rt

NS = "kubeflow-user-example-com"
GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
TRAINING_PLAN = {"status_field": "trainingJobStatus", "success": ["Completed"],
                 "failure": ["Failed", "Stopped"], "reason_field": "failureReason"}
SYNCED_PLAN = {"status_field": None, "success": [], "failure": [], "reason_field": None}
MODEL_FIELDS = {"model_name": {"key": "modelName", "type": "string", "required": True},
                "execution_role_arn": {"key": "executionRoleARN", "type": "string", "required": False},
                "primary_container": {"key": "primaryContainer", "type": "object", "required": False},
                "enable_network_isolation": {"key": "enableNetworkIsolation", "type": "boolean",
                                             "required": False},
                "tags": {"key": "tags", "type": "array", "required": False}}
MODEL = {"kind": "Model", "group": GROUP, "version": VERSION, "plural": "models", "name_key": "modelName",
         "fields": MODEL_FIELDS, "wait": SYNCED_PLAN,
         "outputs": {"ack_resource_metadata": "ackResourceMetadata", "conditions": "conditions"}}


# ---------------------------------------------------------------- building, no cluster

def test_build_spec_maps_keys_exactly_and_omits_unset_optionals():
    """Exact CRD keys; None/empty optionals left out; JSON text accepted for objects; 1.0 -> 1."""
    spec = rt.build_spec(MODEL_FIELDS, {
        "model_name": "m", "execution_role_arn": "arn:aws:iam::1:role/r", "tags": [],
        "primary_container": '{"image": "img", "environment": {"A": "1"}, "n": 2.0}'})
    assert spec == {"modelName": "m", "executionRoleARN": "arn:aws:iam::1:role/r",
                    "primaryContainer": {"image": "img", "environment": {"A": "1"}, "n": 2}}
    assert isinstance(spec["primaryContainer"]["n"], int)
    assert rt.build_spec(MODEL_FIELDS, {"model_name": "m", "enable_network_isolation": False}) == \
        {"modelName": "m", "enableNetworkIsolation": False}  # False is a value, not "unset"


@pytest.mark.parametrize("values, message", [
    ({}, r"required input\(s\) not given: model_name \(spec.modelName\)"),
    ({"model_name": ""}, r"not given: model_name"),
    ({"model_name": "m", "primary_container": "{not json"}, r"input 'primary_container' \(spec.primaryContainer\) "
                                                            r"must be JSON object"),
    ({"model_name": "m", "enable_network_isolation": "yes"}, r"must be of type boolean, got str"),
    ({"model_name": "m", "tags": {"a": 1}}, r"must be of type array, got dict"),
    ({"model_name": "m", "colour": "red"}, r"unknown input\(s\) colour"),
])
def test_build_spec_rejects_bad_inputs(values, message):
    """Each bad input names the input, its CRD key and the problem."""
    with pytest.raises(rt.ComponentError, match=message):
        rt.build_spec(MODEL_FIELDS, values)


def test_default_names_are_deterministic_dns_labels():
    """From the SageMaker name field when there is one; from a spec hash otherwise."""
    assert rt.default_resource_name("TrainingJob", {"trainingJobName": "KMeans_Job.1"}, "trainingJobName") == \
        "kmeans-job-1"
    a = rt.default_resource_name("ModelPackage", {"modelPackageDescription": "x"})
    assert a == rt.default_resource_name("ModelPackage", {"modelPackageDescription": "x"})
    assert a != rt.default_resource_name("ModelPackage", {"modelPackageDescription": "y"})
    assert a.startswith("modelpackage-") and len(rt.default_resource_name("K", {"n": "a" * 99}, "n")) == 63


def test_namespace_resolution_order(tmp_path, monkeypatch):
    """Given, then the service-account file, then the kubeconfig context, then default."""
    sa = tmp_path / "namespace"
    sa.write_text("from-pod\n")
    assert rt.resolve_namespace("given", str(sa)) == "given"
    assert rt.resolve_namespace(None, str(sa)) == "from-pod"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: x, context: {cluster: c, user: u, namespace: from-context}}]
        current-context: x
        """))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert rt.resolve_namespace(None, str(tmp_path / "absent")) == "from-context"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    assert rt.resolve_namespace(None, str(tmp_path / "absent")) == "default"


@pytest.mark.parametrize("status, verdict, words", [
    ({}, "unwatched", "no status yet"),
    ({"ackResourceMetadata": {"region": "eu-west-1"}}, "waiting", "trainingJobStatus=(not reported yet)"),
    ({"trainingJobStatus": "InProgress"}, "waiting", "InProgress"),
    ({"trainingJobStatus": "Completed"}, "done", "Completed"),
    ({"trainingJobStatus": "Failed", "failureReason": "AlgorithmError: boom"}, "failed", "AlgorithmError: boom"),
    ({"trainingJobStatus": "Stopped"}, "failed", "no failureReason given"),
    ({**cond("ACK.Terminal", "InvalidParameterValue: no such image"), "trainingJobStatus": "InProgress"},
     "failed", "ACK.Terminal: InvalidParameterValue"),
    # ACK.Recoverable means ACK retries, whatever the error: e.g. a Model that does not exist yet
    (cond("ACK.Recoverable", "api error ValidationException: Could not find model"), "recoverable",
     "ACK.Recoverable: api error ValidationException: Could not find model"),
    (cond("ACK.Recoverable", "ThrottlingException: slow down"), "recoverable", "ThrottlingException"),
    (cond("ACK.Recoverable", "ValidationException: old", status="False"), "waiting", "(not reported yet)"),
])
def test_evaluate_with_a_status_field(status, verdict, words):
    """The kind's status field decides; Terminal fails first, Recoverable is waited on, no status is
    'unwatched'."""
    got, message = rt.evaluate({"status": status}, TRAINING_PLAN)
    assert got == verdict and words in message


def test_evaluate_without_a_status_field_uses_resource_synced():
    """Kinds with no status enum are done when ACK.ResourceSynced is True."""
    assert rt.evaluate({"status": synced()}, SYNCED_PLAN)[0] == "done"
    assert rt.evaluate({"status": cond("ACK.ResourceSynced", "", status="False")}, SYNCED_PLAN) == \
        ("waiting", "ACK.ResourceSynced=False")
    assert rt.evaluate({}, SYNCED_PLAN)[0] == "unwatched"


def test_spec_difference_is_a_subset_match():
    """Late-initialised extra fields are fine; a changed or missing one is reported with its path."""
    assert rt.spec_difference({"a": {"b": 1}}, {"a": {"b": 1.0, "c": 2}, "d": 3}) is None
    assert rt.spec_difference({"a": {"b": 1}}, {"a": {"b": 2}}) == "spec.a.b"
    assert rt.spec_difference({"l": [1, {"x": "y"}]}, {"l": [1, {"x": "z"}]}) == "spec.l[1].x"


# ---------------------------------------------------------------- against the sandbox API server

@pytest.fixture(scope="module")
def kube(tmp_path_factory):
    """The sandbox's Kubernetes API server with TrainingJob, Endpoint and Model CRDs."""
    data = tmp_path_factory.mktemp("kube")
    server, kubeconfig, api = start_kube(data)
    yield api, kubeconfig
    server.stop()


def ack(api, plural="models", **kw):
    """An AckClient for the test namespace."""
    return rt.AckClient(api, GROUP, VERSION, plural, NS, **kw)


def test_load_crds_from_cluster(kube, tmp_path):
    """The installed SageMaker CRDs are read back; other groups are ignored; none at all is explained."""
    from kubernetes import client
    from wizard.generator.crds import load_crds_from_cluster
    from wizard.generator.errors import CrdError
    api, _ = kube
    other = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "buckets.s3.services.k8s.aws"},
             "spec": {"group": "s3.services.k8s.aws", "scope": "Namespaced",
                      "names": {"kind": "Bucket", "plural": "buckets", "singular": "bucket",
                                "listKind": "BucketList"},
                      "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                        "spec": {"type": "object",
                                                 "properties": {"name": {"type": "string"}}}}}}}]}}
    client.ApiextensionsV1Api(api).create_custom_resource_definition(other)
    crds = load_crds_from_cluster(api)
    assert [c.kind for c in crds] == ["Endpoint", "Model", "TrainingJob"]
    tj = crds[2]
    assert "roleARN" in tj.required and tj.source.endswith("trainingjobs.sagemaker.services.k8s.aws")
    server, _kc, empty = start_kube(tmp_path, plurals=())
    try:
        with pytest.raises(CrdError, match="no sagemaker.services.k8s.aws CRDs are installed"):
            load_crds_from_cluster(empty)
    finally:
        server.stop()


def test_create_then_adopt_then_refuse_a_different_spec(kube):
    """Create; a retry with the same spec adopts; another spec under the same name fails clearly."""
    api, _ = kube
    client = ack(api)
    body = rt.build_resource(GROUP, VERSION, "Model", "adopt-me", NS, {"modelName": "adopt-me",
                                                                      "primaryContainer": {"image": "i"}})
    assert rt.create_or_adopt(client, body)[1] == "created"
    # the controller late-initialises a field we never set: still ours
    obj = client.get("adopt-me")
    obj["spec"]["primaryContainer"]["mode"] = "SingleModel"
    client.objects.replace_namespaced_custom_object(GROUP, VERSION, NS, "models", "adopt-me", obj)
    again, how = rt.create_or_adopt(client, body)
    assert how == "adopted" and again["metadata"]["name"] == "adopt-me"
    other = rt.build_resource(GROUP, VERSION, "Model", "adopt-me", NS, {"modelName": "adopt-me",
                                                                       "primaryContainer": {"image": "j"}})
    with pytest.raises(rt.ComponentError, match=r"already exists in namespace kubeflow-user-example-com with a "
                                                r"different spec \(first difference at spec.primaryContainer.image\)"):
        rt.create_or_adopt(client, other)


def test_server_validation_error_is_reported(kube):
    """A resource the API server rejects (422) fails with the server's message."""
    api, _ = kube
    body = rt.build_resource(GROUP, VERSION, "Model", "bad-type", NS, {"modelName": 7})
    with pytest.raises(rt.ComponentError, match=r"was refused \(HTTP 422\).*spec.modelName"):
        rt.create_or_adopt(ack(api), body)


def test_run_component_model_until_synced(kube):
    """A kind without a status enum: done at ACK.ResourceSynced=True; outputs are JSON; ARN plain."""
    api, _ = kube
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model/kmeans-model"
    ctl = Controller(api, "models", NS, "kmeans-model", [cond("ACK.ResourceSynced", "creating", "False"),
                                                         synced(arn)])
    out = rt.run_component(MODEL, {"model_name": "kmeans-model", "execution_role_arn": "arn:role"},
                           namespace=NS, poll_interval_seconds=0.05, timeout_seconds=30, api=api)
    ctl.join()
    assert out["ack_resource_arn"] == arn and out["resource_name"] == "kmeans-model"
    assert json.loads(out["ack_resource_metadata"])["arn"] == arn
    assert json.loads(out["conditions"])[0]["type"] == "ACK.ResourceSynced"
    stored = ack(api).get("kmeans-model")
    assert stored["spec"] == {"modelName": "kmeans-model", "executionRoleARN": "arn:role"}


def _training(name):
    """A TrainingJob component table with just the fields these tests set."""
    return {"kind": "TrainingJob", "group": GROUP, "version": VERSION, "plural": "trainingjobs",
            "name_key": "trainingJobName", "wait": TRAINING_PLAN,
            "fields": {"training_job_name": {"key": "trainingJobName", "type": "string", "required": True},
                       "role_arn": {"key": "roleARN", "type": "string", "required": True},
                       "algorithm_specification": {"key": "algorithmSpecification", "type": "object",
                                                   "required": True},
                       "output_data_config": {"key": "outputDataConfig", "type": "object", "required": True},
                       "resource_config": {"key": "resourceConfig", "type": "object", "required": True},
                       "stopping_condition": {"key": "stoppingCondition", "type": "object", "required": True}},
            "outputs": {"training_job_status": "trainingJobStatus", "model_artifacts": "modelArtifacts"}}


def _training_values(name):
    """Inputs for a k-means training job, as KFP would deliver them (counts as floats)."""
    return {"training_job_name": name, "role_arn": "arn:aws:iam::123456789012:role/sm",
            "algorithm_specification": {"trainingImage": "kmeans:1", "trainingInputMode": "File"},
            "output_data_config": {"s3OutputPath": "s3://b/out"},
            "resource_config": {"instanceCount": 1.0, "instanceType": "ml.m5.large", "volumeSizeInGB": 5.0},
            "stopping_condition": {"maxRuntimeInSeconds": 3600.0}}


def test_training_job_waits_for_completed(kube):
    """InProgress, then Completed: outputs carry the status fields as JSON."""
    api, _ = kube
    artifacts = {"s3ModelArtifacts": "s3://b/out/model.tar.gz"}
    ctl = Controller(api, "trainingjobs", NS, "train-ok", [
        {"trainingJobStatus": "InProgress"},
        {"trainingJobStatus": "Completed", "modelArtifacts": artifacts, **synced("arn:tj")}])
    out = rt.run_component(_training("train-ok"), _training_values("train-ok"), namespace=NS,
                           poll_interval_seconds=0.05, timeout_seconds=30, api=api)
    ctl.join()
    assert json.loads(out["training_job_status"]) == "Completed"
    assert json.loads(out["model_artifacts"]) == artifacts and out["ack_resource_arn"] == "arn:tj"
    sent = ack(api, "trainingjobs").get("train-ok")["spec"]["resourceConfig"]
    assert sent["instanceCount"] == 1 and isinstance(sent["instanceCount"], int)


@pytest.mark.parametrize("name, statuses, message", [
    ("train-failed", [{"trainingJobStatus": "InProgress"},
                      {"trainingJobStatus": "Failed", "failureReason": "AlgorithmError: k must be < n"}],
     r"train-failed failed: trainingJobStatus=Failed: AlgorithmError: k must be < n\. A rerun adopts "
     r"this same resource, so delete it first: kubectl delete trainingjobs train-failed"),
    ("train-terminal", [cond("ACK.Terminal", "InvalidParameterValue: unknown image")],
     r"ACK.Terminal: InvalidParameterValue: unknown image"),
    ("train-invalid", [cond("ACK.Recoverable", "api error ValidationException: instance type ml.x is not "
                                               "supported")],
     r"stayed in error for over 0s: ACK.Recoverable: api error ValidationException: instance type ml.x"),
    ("train-stuck", [cond("ACK.Recoverable", "AccessDeniedException: not authorized")],
     r"stayed in error for over 0s: ACK.Recoverable: AccessDeniedException"),
])
def test_training_job_failures(kube, name, statuses, message):
    """Failed and Terminal fail at once; a recoverable error (validation included) after the bound."""
    api, _ = kube
    ctl = Controller(api, "trainingjobs", NS, name, statuses, gap=0.1)
    with pytest.raises(rt.ComponentError, match=message):
        rt.run_component(_training(name), _training_values(name), namespace=NS, poll_interval_seconds=0.05,
                         timeout_seconds=30, recoverable_seconds=0.3, api=api)
    ctl.join()


def test_recoverable_error_that_clears_is_waited_out(kube):
    """A throttling error, then success: the task succeeds."""
    api, _ = kube
    ctl = Controller(api, "trainingjobs", NS, "train-throttled", [
        cond("ACK.Recoverable", "ThrottlingException: Rate exceeded"),
        {"trainingJobStatus": "Completed", **synced()}])
    out = rt.run_component(_training("train-throttled"), _training_values("train-throttled"), namespace=NS,
                           poll_interval_seconds=0.05, timeout_seconds=30, recoverable_seconds=20, api=api)
    ctl.join()
    assert json.loads(out["training_job_status"]) == "Completed"


def test_timeout_deletes_only_when_asked(kube):
    """A timeout fails the task; with delete_on_termination the resource goes too."""
    api, _ = kube
    for name, delete in (("train-slow-keep", False), ("train-slow-drop", True)):
        with pytest.raises(rt.ComponentError, match=r"timed out after 0.3s waiting for " + name):
            rt.run_component(_training(name), _training_values(name), namespace=NS, poll_interval_seconds=0.05,
                             timeout_seconds=0.3, delete_on_termination=delete, api=api)
        assert (ack(api, "trainingjobs").get(name) is None) is delete


def test_resource_deleted_while_waiting(kube):
    """Someone deleting the resource mid-wait fails the task with that explanation."""
    api, _ = kube
    client = ack(api, "trainingjobs")
    name = "train-vanishes"

    def delete_soon():
        """Delete the resource once it exists."""
        for _ in range(200):
            if client.get(name):
                client.delete(name)
                return
            time.sleep(0.05)
    import threading
    threading.Thread(target=delete_soon, daemon=True).start()
    with pytest.raises(rt.ComponentError, match="disappeared from namespace kubeflow-user-example-com"):
        rt.run_component(_training(name), _training_values(name), namespace=NS, poll_interval_seconds=0.05,
                         timeout_seconds=30, api=api)


def test_transient_api_errors_are_retried(tmp_path, capsys):
    """With every second API call failing 503 (the sandbox's kube-5xx fault), create and wait still work."""
    from kubernetes import client as k8s, config
    from wizard.sandbox import faults
    server, kubeconfig, _api = start_kube(tmp_path, plurals=("models",), faults=faults.Faults(tmp_path))
    try:
        faults.write(tmp_path, [faults.parse("kube-5xx=0.5")])  # on only once the set-up is done
        # urllib3 already retries a 503 that carries Retry-After; switch that off so the
        # runtime's own retry is what gets tested
        cfg = k8s.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        cfg.retries = False
        api = k8s.ApiClient(cfg)
        client = ack(api, backoff=0.01)
        body = rt.build_resource(GROUP, VERSION, "Model", "flaky", NS, {"modelName": "flaky"})
        rt.create_or_adopt(client, body)
        obj = client.get("flaky")
        obj["status"] = synced()
        client._call("status", client.objects.replace_namespaced_custom_object_status,
                     GROUP, VERSION, NS, "models", "flaky", obj)
        final = rt.wait_for(client, "flaky", SYNCED_PLAN, 30, 0.01)
        assert rt.evaluate(final, SYNCED_PLAN)[0] == "done"
        assert "transient API error" in capsys.readouterr().out
        with pytest.raises(Exception, match="503"):  # proof the fault is on: an unretried call fails
            for _ in range(3):
                client.objects.get_namespaced_custom_object(GROUP, VERSION, NS, "models", "flaky")
    finally:
        server.stop()


def test_sigterm_deletes_the_resource_by_default(kube, tmp_path):
    """A cancelled run (SIGTERM) exits 143 and deletes the resource unless delete_on_termination is off."""
    api, kubeconfig = kube
    script = textwrap.dedent("""
        import json, sys
        from wizard.generator import runtime as rt
        table, values, mode = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
        # "default" passes no delete_on_termination at all: the default must delete
        extra = {} if mode == "default" else {"delete_on_termination": mode == "1"}
        rt.run_component(table, values, namespace="%s", poll_interval_seconds=0.05,
                         timeout_seconds=60, **extra)
    """ % NS)
    for name, mode, delete in (("train-cancel-default", "default", True),
                               ("train-cancel-drop", "1", True), ("train-cancel-keep", "0", False)):
        proc = subprocess.Popen([str(PYTHON), "-c", script, json.dumps(_training(name)),
                                 json.dumps(_training_values(name)), mode],
                                cwd=REPO_ROOT, env={**os.environ, "KUBECONFIG": str(kubeconfig)},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        client = ack(api, "trainingjobs")
        # the wait loop's first report ("<name>: ...") says the resource is made and owned:
        # signal then, however long that took, instead of after a guessed 0.3 s
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.split("] ", 1)[-1].startswith(f"{name}: "):
                break
        else:
            raise AssertionError("the component ended before it waited:\n" + "".join(seen))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        out = "".join(seen) + proc.stdout.read()
        assert proc.returncode == 143, out
        assert "terminated" in out
        assert (client.get(name) is None) is delete, out


def test_generated_component_deletes_on_termination_by_default(tmp_path):
    """The compiled component's delete_on_termination input defaults to True (a user may pass False)."""
    import yaml

    from generator_helpers import CRD_DIR
    from wizard.generator.core import generate
    from wizard.generator.crds import load_crds_from_path

    [crd] = load_crds_from_path(CRD_DIR / "sagemaker.services.k8s.aws_trainingjobs.yaml")
    compiled = yaml.safe_load(generate(crd, tmp_path).component_yaml.read_text())
    [comp] = compiled["components"].values()
    params = comp["inputDefinitions"]["parameters"]
    assert params["delete_on_termination"]["defaultValue"] is True
    assert params["delete_on_termination"]["isOptional"] is True
    assert params["lineage"]["defaultValue"] == "" and params["run_id"]["defaultValue"] == ""


# ---------------------------------------------------------------- lineage labels and tags

def test_lineage_keys_match_what_labwiz_uses():
    """The runtime cannot import labwiz, so its copies of the label and tag keys are checked here."""
    from wizard import ledger
    assert rt.LINEAGE_LABEL == ledger.LABEL_KEY and rt.LINEAGE_TAG == ledger.TAG_KEY
    labels, tags = rt.lineage_marks("0f4c2a", "run-1")
    assert tags == {**ledger.Ledger({"lineage": "0f4c2a"}, lambda: None).tags(), rt.RUN_ID_TAG: "run-1"}
    assert labels == {rt.LINEAGE_LABEL: "0f4c2a", rt.RUN_ID_LABEL: "run-1"}


def test_lineage_marks_empty_and_invalid():
    """No lineage: nothing added. A lineage that cannot be a label value fails; an odd run id is tag-only."""
    assert rt.lineage_marks("", "run-1") == ({}, {})
    assert rt.lineage_marks(None, None) == ({}, {})
    with pytest.raises(rt.ComponentError, match=r"input 'lineage' \('not a label!'\) cannot be a Kubernetes label"):
        rt.lineage_marks("not a label!")
    long_run = "mnist-classification-pipeline-" + "2" * 40  # kfp.local's ids can pass 63 characters
    labels, tags = rt.lineage_marks("lab-1", long_run)
    assert rt.RUN_ID_LABEL not in labels and tags[rt.RUN_ID_TAG] == long_run


def test_lineage_labels_and_tags_on_the_resource(kube):
    """The CR carries the lineage and run-id labels; our tags follow the user's, whose values win."""
    api, _ = kube
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model/lineage-model"
    ctl = Controller(api, "models", NS, "lineage-model", [synced(arn)])
    model = {**MODEL, "tags_key": "tags"}
    user_tags = [{"key": "team", "value": "ml"}, {"key": "labwiz:managed", "value": "by-hand"}]
    rt.run_component(model, {"model_name": "lineage-model", "tags": user_tags}, namespace=NS,
                     poll_interval_seconds=0.05, timeout_seconds=30, api=api,
                     lineage="5d1e0c7a-lab", run_id="3f2a9c1e-77aa")
    ctl.join()
    stored = ack(api).get("lineage-model")
    assert stored["metadata"]["labels"] == {"labwiz.dev/lineage": "5d1e0c7a-lab",
                                            "labwiz.dev/kfp-run-id": "3f2a9c1e-77aa"}
    assert stored["spec"]["tags"] == user_tags + [{"key": "labwiz:lineage", "value": "5d1e0c7a-lab"},
                                                  {"key": "labwiz:kfp-run-id", "value": "3f2a9c1e-77aa"}]
    from kubernetes import client
    found = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, NS, "models", label_selector="labwiz.dev/lineage=5d1e0c7a-lab")["items"]
    assert [o["metadata"]["name"] for o in found] == ["lineage-model"]


def test_no_lineage_means_no_label_and_no_tags(kube):
    """Without a lineage the resource is exactly what the inputs say; a kind without tags gets labels only."""
    api, _ = kube
    ctl = Controller(api, "models", NS, "plain-model", [synced("arn:m")])
    rt.run_component({**MODEL, "tags_key": "tags"}, {"model_name": "plain-model"}, namespace=NS,
                     poll_interval_seconds=0.05, timeout_seconds=30, api=api)
    ctl.join()
    stored = ack(api).get("plain-model")
    assert "labels" not in stored["metadata"] and "tags" not in stored["spec"]
    ctl = Controller(api, "models", NS, "untagged-model", [synced("arn:u")])
    rt.run_component({**MODEL, "tags_key": None}, {"model_name": "untagged-model"}, namespace=NS,
                     poll_interval_seconds=0.05, timeout_seconds=30, api=api, lineage="lab-2")
    ctl.join()
    stored = ack(api).get("untagged-model")
    assert stored["metadata"]["labels"] == {"labwiz.dev/lineage": "lab-2"} and "tags" not in stored["spec"]


def test_invalid_lineage_creates_nothing(kube):
    """A bad lineage fails before any resource exists."""
    api, _ = kube
    with pytest.raises(rt.ComponentError, match="cannot be a Kubernetes label value"):
        rt.run_component({**MODEL, "tags_key": "tags"}, {"model_name": "never-made"}, namespace=NS,
                         poll_interval_seconds=0.05, timeout_seconds=5, api=api, lineage="-bad-")
    assert ack(api).get("never-made") is None
