"""Seed the sandbox cluster with what an EKS cluster running Kubeflow and the ACK controller has.

:func:`seed_kubeflow_cluster` creates (when missing) the ``kubeflow`` namespace and its
``pipeline-runner`` account, the user's profile namespace with ``default-editor`` and
``default-viewer`` bound to the aggregated ``kubeflow-edit``/``kubeflow-view`` ClusterRoles as
the profile controller binds them, the ``ack-system`` namespace with the SageMaker controller's
account, ClusterRole, binding and Deployment (shown ready), and the given CRDs. Calling it again
changes nothing, except CRDs whose spec differs, which are updated.

It also has the ``istio-system`` namespace and the ``istio-ingress`` Ingress in front of Kubeflow
(on EKS an ALB answers for it): the lab's ``kubectl get ingress -n istio-system`` finds it, and
once the sandbox's KFP API is up its address is the ingress' load balancer address
(:func:`ingress_status`).

``kubeflow-edit`` does not grant SageMaker custom resources: a pipeline pod needs the lab's own
Role/RoleBinding for ``sagemaker.services.k8s.aws`` before it can create a TrainingJob, and
gets a 403 Forbidden until then, as on a real cluster.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

RBAC = "rbac.authorization.k8s.io"
SAGEMAKER = "sagemaker.services.k8s.aws"
PROFILE_LABELS = {
    "app.kubernetes.io/part-of": "kubeflow-profile",
    "istio-injection": "enabled",
    "katib.kubeflow.org/metrics-collector-injection": "enabled",
    "pipelines.kubeflow.org/enabled": "true",
    "serving.kubeflow.org/inferenceservice": "enabled",
}
_RW = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
_R = ["get", "list", "watch"]
#: spec fields ACK v1.9.1's CRDs require beyond those botocore's SageMaker model marks required
#: (ACK generated them from an older model, in which these were still required); the sandbox
#: must refuse what the real CRD refuses
ACK_EXTRA_REQUIRED = {"TrainingJob": ("algorithmSpecification", "resourceConfig",
                                      "stoppingCondition")}
INGRESS_NAMESPACE = "istio-system"
INGRESS_NAME = "istio-ingress"


def ingress_status(url: str) -> dict[str, Any]:
    """The Ingress status naming the load balancer at ``url`` (``http://IP:PORT``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return {"loadBalancer": {"ingress": [{
        "ip": parts.hostname, "ports": [{"port": parts.port or 80, "protocol": "TCP"}]}]}}


def load_crds(source: Path | str | Iterable[Any]) -> list[dict[str, Any]]:
    """CRD documents from a YAML file, a directory of them, or a list of dicts/paths."""
    import yaml

    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no CRD file or directory at {path}; pass the folder that "
                                    "holds the ACK CRD YAML files")
        files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
        docs = []
        # the C loader, when PyYAML has it, reads the 26 ACK CRDs several times faster
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for f in files:
            docs += [d for d in yaml.load_all(f.read_text(), Loader=loader) if d]
    else:
        docs = []
        for item in source:
            docs += load_crds(item) if isinstance(item, (str, Path)) else [item]
    crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
    if len(crds) != len(docs):
        raise ValueError("every document given as a CRD must be kind CustomResourceDefinition")
    return crds


def with_ack_required(crd: dict[str, Any]) -> dict[str, Any]:
    """A CRD whose spec requires what the real ACK CRD of its kind requires (a copy)."""
    extra = ACK_EXTRA_REQUIRED.get(((crd.get("spec") or {}).get("names") or {}).get("kind", ""))
    if not extra:
        return crd
    crd = copy.deepcopy(crd)
    for version in crd["spec"].get("versions") or []:
        spec = (((version.get("schema") or {}).get("openAPIV3Schema") or {})
                .get("properties") or {}).get("spec")
        if isinstance(spec, dict):
            spec["required"] = sorted(set(spec.get("required") or []) | set(extra))
    return crd


def _sa(ns: str, name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A ServiceAccount body."""
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def _ns(name: str, labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A Namespace body."""
    meta: dict[str, Any] = {"name": name, "labels": dict(labels or {})}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _cluster_role(name: str, rules: list[dict[str, Any]], labels: dict[str, str] | None = None,
                  aggregate: dict[str, str] | None = None) -> dict[str, Any]:
    """A ClusterRole body (aggregated when ``aggregate`` gives a selector label)."""
    role: dict[str, Any] = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
                            "metadata": {"name": name, "labels": dict(labels or {})},
                            "rules": rules}
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregate}]}
    return role


def _binding(kind: str, name: str, role: str, subjects: list[dict[str, Any]],
             ns: str | None = None) -> dict[str, Any]:
    """A RoleBinding/ClusterRoleBinding body to a ClusterRole."""
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": subjects}


def cluster_objects(profile_namespace: str, service_account: str) -> list[dict[str, Any]]:
    """Every object the seed creates, in creation order (CRDs excluded)."""
    edit_label = {"rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit": "true"}
    view_label = {"rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view": "true"}
    controller_labels = {"app.kubernetes.io/name": "ack-sagemaker-controller",
                         "app.kubernetes.io/instance": "ack-sagemaker-controller"}
    return [
        _ns("kubeflow", {"control-plane": "kubeflow", "istio-injection": "enabled"}),
        _ns(profile_namespace, PROFILE_LABELS, {"owner": "user@example.com"}),
        _ns("ack-system"),
        _ns(INGRESS_NAMESPACE, {"istio-injection": "disabled"}),
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": {"name": INGRESS_NAME, "namespace": INGRESS_NAMESPACE,
                      "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"}},
         "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [{
             "path": "/*", "pathType": "ImplementationSpecific",
             "backend": {"service": {"name": "istio-ingressgateway",
                                     "port": {"number": 80}}}}]}}]}},
        _sa("kubeflow", "pipeline-runner"),
        _sa(profile_namespace, service_account),
        _sa(profile_namespace, "default-viewer"),
        _sa("ack-system", "ack-sagemaker-controller"),
        _cluster_role("kubeflow-edit", [], {"rbac.authorization.kubeflow.org/aggregate-to-"
                                            "kubeflow-admin": "true"}, edit_label),
        _cluster_role("kubeflow-view", [], {}, view_label),
        _cluster_role("kubeflow-kubernetes-edit", [
            {"apiGroups": [""], "resources": ["pods", "pods/log", "pods/status", "configmaps",
                                              "secrets", "services", "persistentvolumeclaims",
                                              "serviceaccounts", "events"], "verbs": _RW},
            {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": _RW},
        ], edit_label),
        _cluster_role("kubeflow-pipelines-edit", [
            {"apiGroups": ["pipelines.kubeflow.org"], "resources": ["pipelines",
                                                                    "pipelines/versions",
                                                                    "experiments", "runs",
                                                                    "jobs"], "verbs": _RW},
        ], edit_label),
        _cluster_role("kubeflow-kubernetes-view", [
            {"apiGroups": ["", "apps"], "resources": ["pods", "pods/log", "configmaps",
                                                      "services", "events", "deployments",
                                                      "replicasets"], "verbs": _R},
        ], view_label),
        _binding("RoleBinding", "default-editor", "kubeflow-edit",
                 [{"kind": "ServiceAccount", "name": service_account,
                   "namespace": profile_namespace}], profile_namespace),
        _binding("RoleBinding", "default-viewer", "kubeflow-view",
                 [{"kind": "ServiceAccount", "name": "default-viewer",
                   "namespace": profile_namespace}], profile_namespace),
        _cluster_role("ack-sagemaker-controller", [
            {"apiGroups": [SAGEMAKER], "resources": ["*"], "verbs": ["*"]},
            {"apiGroups": ["services.k8s.aws"], "resources": ["adoptedresources",
                                                              "adoptedresources/status",
                                                              "fieldexports",
                                                              "fieldexports/status"],
             "verbs": _RW},
            {"apiGroups": [""], "resources": ["configmaps", "secrets", "namespaces"],
             "verbs": _R},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        ], controller_labels),
        _binding("ClusterRoleBinding", "ack-sagemaker-controller-rolebinding",
                 "ack-sagemaker-controller",
                 [{"kind": "ServiceAccount", "name": "ack-sagemaker-controller",
                   "namespace": "ack-system"}]),
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "ack-sagemaker-controller", "namespace": "ack-system",
                      "labels": dict(controller_labels)},
         "spec": {"replicas": 1, "selector": {"matchLabels": dict(controller_labels)},
                  "template": {"metadata": {"labels": dict(controller_labels)},
                               "spec": {"serviceAccountName": "ack-sagemaker-controller",
                                        "containers": [{
                                            "name": "controller",
                                            "image": "public.ecr.aws/aws-controllers-k8s/"
                                                     "sagemaker-controller:1.9.1",
                                            "args": ["--aws-region", "$(AWS_REGION)"],
                                        }]}}}},
    ]


def _type_for(crud, body: dict[str, Any]):
    """The served type of a body's apiVersion/kind."""
    group, _, version = body["apiVersion"].rpartition("/")
    for t in crud.registry.all():
        if t.group == group and t.version == version and t.kind == body["kind"]:
            return t
    raise ValueError(f"no served type for {body['apiVersion']} {body['kind']}")


def _ensure(crud, body: dict[str, Any]) -> dict[str, Any]:
    """Create ``body`` unless it exists; make sure the labels it asks for are present."""
    t = _type_for(crud, body)
    meta = body["metadata"]
    ns = meta.get("namespace", "")
    existing = crud.store.get(t.store_key, ns, meta["name"])
    if existing is None:
        return crud.create(t, ns, copy.deepcopy(body), {})
    labels = existing["metadata"].get("labels") or {}
    missing = {k: v for k, v in (meta.get("labels") or {}).items() if labels.get(k) != v}
    if missing:
        return crud.patch(t, ns, meta["name"],
                          _json({"metadata": {"labels": missing}}),
                          "application/merge-patch+json", {})
    return existing


def _json(doc: Any) -> bytes:
    """A patch body."""
    import json

    return json.dumps(doc).encode()


def seed_kubeflow_cluster(server_or_store, profile_namespace: str = "kubeflow-user-example-com",
                          service_account: str = "default-editor",
                          crds: Iterable[Any] = ()) -> dict[str, Any]:
    """Seed a started :class:`KubeApiServer` (or its ``.crud``); idempotent.

    ``crds`` may hold CRD dicts, YAML file paths or directories (see :func:`load_crds`).
    Returns a summary: namespaces, service accounts and CRD names now present.
    """
    crud = getattr(server_or_store, "crud", server_or_store)
    if crud is None or not hasattr(crud, "registry"):
        raise ValueError("seed_kubeflow_cluster needs a started KubeApiServer (call .start() "
                         "first) or its .crud")
    crd_docs = [with_ack_required(c) for c in load_crds(list(crds))] if crds else []
    for crd in crd_docs:
        _ensure_crd(crud, crd)
    for body in cluster_objects(profile_namespace, service_account):
        _ensure(crud, body)
    dep_t = _type_for(crud, {"apiVersion": "apps/v1", "kind": "Deployment"})
    dep = crud.store.get(dep_t.store_key, "ack-system", "ack-sagemaker-controller")
    # shown ready with the replicas it asks for (a learner may have scaled it to 0)
    want = int((dep.get("spec") or {}).get("replicas", 1))
    if want > 0 and (dep.get("status") or {}).get("readyReplicas") != want:
        crud.update(dep_t, "ack-system", "ack-sagemaker-controller", dict(dep, status={
            "observedGeneration": dep["metadata"].get("generation", 1), "replicas": want,
            "readyReplicas": want, "availableReplicas": want, "updatedReplicas": want,
            "conditions": [{"type": "Available", "status": "True",
                            "reason": "MinimumReplicasAvailable",
                            "message": "Deployment has minimum availability."}]}), {}, "status")
    return {"namespaces": ["kubeflow", profile_namespace, "ack-system", INGRESS_NAMESPACE],
            "service_accounts": [f"{profile_namespace}/{service_account}",
                                 f"{profile_namespace}/default-viewer", "kubeflow/pipeline-runner",
                                 "ack-system/ack-sagemaker-controller"],
            "crds": [c["metadata"]["name"] for c in crd_docs]}


def _ensure_crd(crud, crd: dict[str, Any]) -> None:
    """Create a CRD, or update it when its spec changed."""
    t = _type_for(crud, crd)
    name = crd["metadata"]["name"]
    existing = crud.store.get(t.store_key, "", name)
    wanted = copy.deepcopy(crd.get("spec") or {})
    names = wanted.setdefault("names", {})
    if names.get("kind"):
        # the server defaults these two; compare like with like so a re-seed is a no-op
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    if existing is None:
        crud.create(t, "", copy.deepcopy(crd), {})
    elif existing.get("spec") != wanted:
        body = copy.deepcopy(crd)
        body["metadata"] = dict(existing["metadata"])
        crud.update(t, "", name, body, {})
