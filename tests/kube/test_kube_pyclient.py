"""Conformance with the kubernetes python client (30.1.0) against the sandbox API server."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kube_helpers import PROFILE

SM = "sagemaker.services.k8s.aws"


def message(err) -> str:
    """The Status message of a failed call."""
    return json.loads(err.value.body)["message"]


def training_job(name: str, **spec_overrides) -> dict:
    """A valid ACK TrainingJob body."""
    spec = {
        "trainingJobName": name, "roleARN": "arn:aws:iam::123456789012:role/sm",
        "algorithmSpecification": {"trainingImage": "kmeans:1", "trainingInputMode": "File"},
        "outputDataConfig": {"s3OutputPath": "s3://bucket/out"},
        "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large",
                           "volumeSizeInGB": 5},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
        "hyperParameters": {"k": "10"},
    }
    spec.update(spec_overrides)
    return {"apiVersion": f"{SM}/v1alpha1", "kind": "TrainingJob",
            "metadata": {"name": name, "namespace": PROFILE}, "spec": spec}


def test_namespaces_and_seed(cluster):
    """Namespaces and seed."""
    core = client.CoreV1Api(cluster.client())
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kubeflow", PROFILE, "ack-system"} <= names
    profile = core.read_namespace(PROFILE)
    assert profile.metadata.labels["app.kubernetes.io/part-of"] == "kubeflow-profile"
    assert profile.status.phase == "Active"
    sas = {s.metadata.name for s in core.list_namespaced_service_account(PROFILE).items}
    assert {"default", "default-editor", "default-viewer"} <= sas
    core.read_namespaced_service_account("pipeline-runner", "kubeflow")
    dep = client.AppsV1Api(cluster.client()).read_namespaced_deployment(
        "ack-sagemaker-controller", "ack-system")
    assert dep.status.ready_replicas == 1 and dep.status.available_replicas == 1
    # seeding again is a no-op: nothing is written, so the resourceVersion does not move
    from kube_helpers import ACK_CRDS
    from wizard.sandbox.kube import seed_kubeflow_cluster

    before = core.list_namespace().metadata.resource_version
    seed_kubeflow_cluster(cluster.server, crds=[ACK_CRDS])
    assert core.list_namespace().metadata.resource_version == before


def test_secret_string_data_and_defaults(cluster):
    """Secret string data and defaults."""
    core = client.CoreV1Api(cluster.client())
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="aws-secret"),
                           string_data={"AWS_ACCESS_KEY_ID": "AKIA123"})
    created = core.create_namespaced_secret(PROFILE, body)
    assert created.type == "Opaque"
    assert created.string_data is None
    assert base64.b64decode(created.data["AWS_ACCESS_KEY_ID"]) == b"AKIA123"
    assert created.metadata.uid and int(created.metadata.resource_version) > 0
    with pytest.raises(ApiException) as err:
        core.create_namespaced_secret(PROFILE, body)
    assert err.value.status == 409 and "already exists" in message(err)


def test_configmap_crud_selectors_and_patches(cluster):
    """Configmap crud selectors and patches."""
    core = client.CoreV1Api(cluster.client())
    for n, env in enumerate(["dev", "prod", "test"]):
        core.create_namespaced_config_map("default", client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"cm-{n}", labels={"env": env, "app": "x"}),
            data={"k": str(n)}))
    sel = lambda s: sorted(c.metadata.name for c in  # noqa: E731
                           core.list_namespaced_config_map("default", label_selector=s).items)
    assert sel("env in (dev,prod)") == ["cm-0", "cm-1"]
    assert sel("env notin (dev),app=x") == ["cm-1", "cm-2"]
    assert sel("!env") == []
    assert sel("env!=prod,app") == ["cm-0", "cm-2"]
    by_name = core.list_namespaced_config_map("default", field_selector="metadata.name=cm-2")
    assert [c.metadata.name for c in by_name.items] == ["cm-2"]
    every = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=default")
    assert {c.metadata.namespace for c in every.items} == {"default"}
    # merge patch (the client's default for dict bodies is strategic merge for core types)
    patched = core.patch_namespaced_config_map("cm-0", "default",
                                               {"metadata": {"annotations": {"a": "1"}},
                                                "data": {"k2": "v"}})
    assert patched.metadata.annotations == {"a": "1"} and patched.data == {"k": "0", "k2": "v"}
    # JSON patch
    patched = core.patch_namespaced_config_map(
        "cm-0", "default", [{"op": "replace", "path": "/data/k", "value": "zero"},
                            {"op": "remove", "path": "/data/k2"}])
    assert patched.data == {"k": "zero"}
    # update with a stale resourceVersion conflicts
    stale = core.read_namespaced_config_map("cm-1", "default")
    core.patch_namespaced_config_map("cm-1", "default", {"data": {"k": "new"}})
    stale.data = {"k": "lost"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("cm-1", "default", stale)
    assert err.value.status == 409 and "the object has been modified" in message(err)
    core.delete_collection_namespaced_config_map("default", label_selector="app=x")
    assert core.list_namespaced_config_map("default", label_selector="app=x").items == []


def test_strategic_merge_of_containers_and_env(cluster):
    """Strategic merge of containers and env."""
    apps = client.AppsV1Api(cluster.client())
    labels = {"app": "web"}
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[
                    client.V1Container(name="a", image="a:1",
                                       env=[client.V1EnvVar(name="X", value="1")]),
                    client.V1Container(name="b", image="b:1")]))))
    created = apps.create_namespaced_deployment("default", dep)
    assert created.metadata.generation == 1 and created.spec.replicas == 1
    patched = apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "a:2", "env": [{"name": "Y", "value": "2"}]}]}}}})
    cs = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in cs] == [("a", "a:2"), ("b", "b:1")]
    assert [(e.name, e.value) for e in cs[0].env] == [("X", "1"), ("Y", "2")]
    assert patched.metadata.generation == 2
    # status through the subresource; the main endpoint ignores status
    st = apps.patch_namespaced_deployment_status("web", "default", {"status": {
        "readyReplicas": 1, "availableReplicas": 1, "replicas": 1}})
    assert st.status.ready_replicas == 1 and st.metadata.generation == 2
    again = apps.patch_namespaced_deployment("web", "default",
                                             {"status": {"readyReplicas": 5}})
    assert again.status.ready_replicas == 1


def test_pods_and_events(cluster):
    """Pods and events."""
    core = client.CoreV1Api(cluster.client())
    pod = core.create_namespaced_pod(PROFILE, client.V1Pod(
        metadata=client.V1ObjectMeta(name="step-1", labels={"pipeline": "p"}),
        spec=client.V1PodSpec(service_account_name="default-editor",
                              containers=[client.V1Container(name="main", image="python:3")])))
    assert pod.status.phase == "Pending"
    core.patch_namespaced_pod_status("step-1", PROFILE, {"status": {"phase": "Running"}})
    assert core.read_namespaced_pod("step-1", PROFILE).status.phase == "Running"
    core.create_namespaced_event(PROFILE, client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="step-1.1"), reason="Started", message="started",
        type="Normal", involved_object=client.V1ObjectReference(kind="Pod", name="step-1",
                                                                namespace=PROFILE)))
    events = core.list_namespaced_event(
        PROFILE, field_selector="involvedObject.name=step-1,involvedObject.kind=Pod")
    assert [e.reason for e in events.items] == ["Started"]
    v1events = client.EventsV1Api(cluster.client()).list_namespaced_event(PROFILE)
    got = {e.metadata.name: e for e in v1events.items}
    assert got["step-1.1"].note == "started" and got["step-1.1"].regarding.name == "step-1"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(PROFILE, {"apiVersion": "v1", "kind": "Pod",
                                             "metadata": {"name": "nocontainers"},
                                             "spec": {"containers": []}})
    assert err.value.status == 422 and "spec.containers: Required value" in message(err)


def test_rbac_api_and_token_request(cluster):
    """Rbac api and token request."""
    rbac = client.RbacAuthorizationV1Api(cluster.client())
    core = client.CoreV1Api(cluster.client())
    token = core.create_namespaced_service_account_token(
        "default-editor", PROFILE, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))).status.token
    sa_custom = client.CustomObjectsApi(cluster.client(token))
    sa_core = client.CoreV1Api(cluster.client(token))
    # kubeflow-edit (aggregated) lets the editor manage pods, not SageMaker resources
    assert sa_core.list_namespaced_pod(PROFILE).items is not None
    with pytest.raises(ApiException) as err:
        sa_custom.create_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs",
                                                  training_job("rbac-1"))
    assert err.value.status == 403
    assert ('User "system:serviceaccount:kubeflow-user-example-com:default-editor" cannot '
            'create resource "trainingjobs" in API group "sagemaker.services.k8s.aws"'
            in message(err))
    with pytest.raises(ApiException) as err:
        sa_core.list_namespaced_secret("kubeflow")
    assert err.value.status == 403
    rbac.create_namespaced_role(PROFILE, client.V1Role(
        metadata=client.V1ObjectMeta(name="sagemaker-jobs"),
        rules=[client.V1PolicyRule(api_groups=[SM], resources=["trainingjobs"],
                                   verbs=["create", "get"]),
               client.V1PolicyRule(api_groups=[SM], resources=["trainingjobs/status"],
                                   verbs=["get"], resource_names=["only-this"])]))
    rbac.create_namespaced_role_binding(PROFILE, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="editor-sagemaker"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                  name="sagemaker-jobs"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="default-editor",
                                       namespace=PROFILE)]))
    sa_custom.create_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs",
                                              training_job("rbac-1"))
    with pytest.raises(ApiException) as err:  # no delete verb
        sa_custom.delete_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs",
                                                  "rbac-1")
    assert err.value.status == 403
    with pytest.raises(ApiException) as err:  # resourceNames restricts the status subresource
        sa_custom.get_namespaced_custom_object_status(SM, "v1alpha1", PROFILE, "trainingjobs",
                                                      "rbac-1")
    assert err.value.status == 403 and "trainingjobs/status" in message(err)
    auth = client.AuthorizationV1Api(cluster.client())
    review = auth.create_subject_access_review(client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{PROFILE}:default-editor",
            resource_attributes=client.V1ResourceAttributes(
                namespace=PROFILE, verb="create", group=SM, resource="trainingjobs"))))
    assert review.status.allowed is True
    mine = client.AuthorizationV1Api(cluster.client(token)).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                namespace="kubeflow", verb="get", resource="secrets"))))
    assert mine.status.allowed is False
    # deleting the service account revokes its tokens
    core.delete_namespaced_service_account("default-editor", PROFILE)
    with pytest.raises(ApiException) as err:
        sa_core.list_namespaced_pod(PROFILE)
    assert err.value.status == 401
    core.create_namespaced_service_account(PROFILE, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name="default-editor")))


def test_unauthenticated_is_401(cluster):
    """Unauthenticated is 401."""
    for token in ("", "not-a-token", "a.b.c"):
        with pytest.raises(ApiException) as err:
            client.CoreV1Api(cluster.client(token)).list_namespace()
        assert err.value.status == 401


def test_crd_api_and_discovery_follow_crds(cluster):
    """Crd api and discovery follow crds."""
    ext = client.ApiextensionsV1Api(cluster.client())
    crd = ext.read_custom_resource_definition(f"trainingjobs.{SM}")
    assert crd.spec.names.kind == "TrainingJob"
    assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
    widget = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster",
                 "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}}}}}]}}
    ext.create_custom_resource_definition(widget)
    apis = client.ApisApi(cluster.client()).get_api_versions()
    assert "example.com" in {g.name for g in apis.groups}
    co = client.CustomObjectsApi(cluster.client())
    co.create_cluster_custom_object("example.com", "v1", "widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"},
        "spec": {"anything": {"goes": [1, 2]}}})
    got = co.get_cluster_custom_object("example.com", "v1", "widgets", "w1")
    assert got["spec"] == {"anything": {"goes": [1, 2]}}
    ext.delete_custom_resource_definition("widgets.example.com")
    apis = client.ApisApi(cluster.client()).get_api_versions()
    assert "example.com" not in {g.name for g in apis.groups}
    with pytest.raises(ApiException) as err:
        co.get_cluster_custom_object("example.com", "v1", "widgets", "w1")
    assert err.value.status == 404
    ext.create_custom_resource_definition(widget)  # re-created: the old objects are gone
    assert co.list_cluster_custom_object("example.com", "v1", "widgets")["items"] == []
    ext.delete_custom_resource_definition("widgets.example.com")


def test_custom_objects_status_subresource_and_validation(cluster):
    """Custom objects status subresource and validation."""
    co = client.CustomObjectsApi(cluster.client())
    body = training_job("tj-1")
    body["spec"]["notInSchema"] = True
    body["status"] = {"trainingJobStatus": "Completed"}
    created = co.create_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs", body)
    assert "notInSchema" not in created["spec"]          # pruned
    assert "status" not in created                        # status ignored on create
    assert created["metadata"]["generation"] == 1
    st = co.patch_namespaced_custom_object_status(
        SM, "v1alpha1", PROFILE, "trainingjobs", "tj-1",
        {"status": {"trainingJobStatus": "InProgress"}, "spec": {"roleARN": "changed"}})
    assert st["status"]["trainingJobStatus"] == "InProgress"
    assert st["spec"]["roleARN"] == "arn:aws:iam::123456789012:role/sm"  # /status ignores spec
    assert st["metadata"]["generation"] == 1
    main = co.patch_namespaced_custom_object(
        SM, "v1alpha1", PROFILE, "trainingjobs", "tj-1",
        {"spec": {"hyperParameters": {"k": "12"}}, "status": {"trainingJobStatus": "Failed"}})
    assert main["status"]["trainingJobStatus"] == "InProgress"  # main ignores status
    assert main["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as err:
        bad = training_job("tj-bad")
        del bad["spec"]["trainingJobName"]
        bad["spec"]["resourceConfig"]["instanceCount"] = "two"
        co.create_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs", bad)
    assert err.value.status == 422
    assert "spec.trainingJobName: Required value" in message(err)
    assert ("spec.resourceConfig.instanceCount in body must be of type integer"
            in message(err))
    with pytest.raises(ApiException) as err:
        co.create_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs",
                                           training_job("tj-1"))
    assert err.value.status == 409


def test_finalizers_hold_deletion(cluster):
    """Finalizers hold deletion."""
    co = client.CustomObjectsApi(cluster.client())
    body = training_job("tj-fin")
    body["metadata"]["finalizers"] = ["finalizers.sagemaker.services.k8s.aws/TrainingJob"]
    co.create_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs", body)
    co.delete_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs", "tj-fin")
    marked = co.get_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs", "tj-fin")
    assert marked["metadata"]["deletionTimestamp"]
    co.patch_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs", "tj-fin",
                                      {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        co.get_namespaced_custom_object(SM, "v1alpha1", PROFILE, "trainingjobs", "tj-fin")
    assert err.value.status == 404


def test_watch_custom_objects(cluster):
    """Watch custom objects."""
    co = client.CustomObjectsApi(cluster.client())
    listing = co.list_namespaced_custom_object(SM, "v1alpha1", PROFILE, "processingjobs")
    rv = listing["metadata"]["resourceVersion"]
    seen: list[tuple[str, str, str]] = []
    done = threading.Event()

    def consume():
        """Collect watch events until the object is deleted."""
        w = watch.Watch()
        for ev in w.stream(co.list_namespaced_custom_object, SM, "v1alpha1", PROFILE,
                           "processingjobs", resource_version=rv, timeout_seconds=20):
            obj = ev["object"]
            seen.append((ev["type"], obj["metadata"]["name"],
                         (obj.get("status") or {}).get("processingJobStatus", "")))
            if ev["type"] == "DELETED":
                w.stop()
        done.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    body = {"apiVersion": f"{SM}/v1alpha1", "kind": "ProcessingJob",
            "metadata": {"name": "pj-1", "namespace": PROFILE},
            "spec": {"processingJobName": "pj-1", "roleARN": "arn:aws:iam::1:role/r",
                     "appSpecification": {"imageURI": "img"},
                     "processingResources": {"clusterConfig": {
                         "instanceCount": 1, "instanceType": "ml.m5.large",
                         "volumeSizeInGB": 5}}}}
    co.create_namespaced_custom_object(SM, "v1alpha1", PROFILE, "processingjobs", body)
    done_status = co.patch_namespaced_custom_object_status(
        SM, "v1alpha1", PROFILE, "processingjobs", "pj-1",
        {"status": {"processingJobStatus": "Completed"}})
    # writes that change nothing once pruned, as the real API server treats them: the same
    # resourceVersion back and no watch event (a status field the schema lacks is pruned; a
    # controller writing it used to wake itself with its own event, for ever)
    for again in (co.replace_namespaced_custom_object_status(
            SM, "v1alpha1", PROFILE, "processingjobs", "pj-1",
            {**done_status, "status": {**done_status["status"], "notInSchema": False}}),
            co.patch_namespaced_custom_object(SM, "v1alpha1", PROFILE, "processingjobs", "pj-1",
                                              {"spec": {"processingJobName": "pj-1"}})):
        assert again["metadata"]["resourceVersion"] == \
            done_status["metadata"]["resourceVersion"]
        assert "notInSchema" not in again["status"]
    co.delete_namespaced_custom_object(SM, "v1alpha1", PROFILE, "processingjobs", "pj-1")
    assert done.wait(20), f"watch did not finish; saw {seen}"
    assert seen == [("ADDED", "pj-1", ""), ("MODIFIED", "pj-1", "Completed"),
                    ("DELETED", "pj-1", "Completed")]
    # resuming from the first event's version replays only what came after it
    replay = []
    w = watch.Watch()
    for ev in w.stream(co.list_namespaced_custom_object, SM, "v1alpha1", PROFILE,
                       "processingjobs", resource_version=rv, timeout_seconds=1):
        replay.append(ev["type"])
    assert replay == ["ADDED", "MODIFIED", "DELETED"]


def test_watch_core_with_selector_and_timeout(cluster):
    """Watch core with selector and timeout."""
    core = client.CoreV1Api(cluster.client())
    core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="w-a", labels={"watch": "yes"})))
    core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="w-b", labels={"watch": "no"})))
    w = watch.Watch()
    events = [(e["type"], e["object"].metadata.name) for e in w.stream(
        core.list_namespaced_config_map, "default", label_selector="watch=yes",
        timeout_seconds=1)]
    assert events == [("ADDED", "w-a")]  # initial state only, then a clean close at the timeout
