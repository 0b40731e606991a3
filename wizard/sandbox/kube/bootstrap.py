"""The objects a fresh cluster has before anyone touches it.

Namespaces ``default``, ``kube-system``, ``kube-public``, ``kube-node-lease``; the default
ClusterRoles (``cluster-admin``, ``admin``, ``edit``, ``view``) and the ``cluster-admin``
binding for ``system:masters``; the ``kubernetes`` Service; one Ready worker node, as an EKS
managed node group would show. Only missing objects are created, so a restart changes nothing.
"""

from __future__ import annotations

from typing import Any

RBAC = "rbac.authorization.k8s.io"

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]

_CORE_EDIT = ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "pods/log",
              "pods/status", "services", "configmaps", "secrets", "serviceaccounts",
              "serviceaccounts/token", "persistentvolumeclaims", "events"]
_CORE_VIEW = ["pods", "pods/log", "pods/status", "services", "configmaps", "serviceaccounts",
              "persistentvolumeclaims", "events", "namespaces", "resourcequotas", "limitranges"]


def _labels(name: str) -> dict[str, str]:
    """Bootstrap labels the real default roles carry."""
    return {"kubernetes.io/bootstrapping": "rbac-defaults",
            f"rbac.authorization.k8s.io/aggregate-to-{name}": "true"} if name != "cluster-admin" \
        else {"kubernetes.io/bootstrapping": "rbac-defaults"}


def default_objects() -> list[tuple[tuple[str, str], dict[str, Any]]]:
    """(storage key, object) for every bootstrap object."""
    out: list[tuple[tuple[str, str], dict[str, Any]]] = []
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        out.append((("", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": ns}}))
    roles = {
        "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                          {"nonResourceURLs": ["*"], "verbs": ["*"]}],
        "admin": [{"apiGroups": [""], "resources": _CORE_EDIT, "verbs": _READ + _WRITE},
                  {"apiGroups": ["apps"], "resources": ["deployments", "replicasets",
                                                        "deployments/scale"],
                   "verbs": _READ + _WRITE},
                  {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"],
                   "verbs": _READ + _WRITE},
                  {"apiGroups": ["authorization.k8s.io"],
                   "resources": ["localsubjectaccessreviews"], "verbs": ["create"]}],
        "edit": [{"apiGroups": [""], "resources": _CORE_EDIT, "verbs": _READ + _WRITE},
                 {"apiGroups": ["apps"], "resources": ["deployments", "replicasets",
                                                       "deployments/scale"],
                  "verbs": _READ + _WRITE}],
        "view": [{"apiGroups": [""], "resources": _CORE_VIEW, "verbs": _READ},
                 {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"],
                  "verbs": _READ}],
    }
    for name, rules in roles.items():
        role: dict[str, Any] = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
                                "metadata": {"name": name, "labels": _labels(name)},
                                "rules": rules}
        out.append(((RBAC, "clusterroles"), role))
    out.append(((RBAC, "clusterrolebindings"), {
        "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "cluster-admin", "labels": _labels("cluster-admin")},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "system:masters"}]}))
    out.append((("", "services"), {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.100.0.1",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": 443}]}}))
    out.append((("", "nodes"), {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "ip-192-168-12-34.eu-west-1.compute.internal",
                     "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                "node.kubernetes.io/instance-type": "m5.xlarge",
                                "eks.amazonaws.com/nodegroup": "sandbox-ng"}},
        "spec": {"providerID": "aws:///eu-west-1a/i-0sandbox00000000"}}))
    return out


def node_status(created: str) -> dict[str, Any]:
    """A Ready node's status (set through the status subresource after create)."""
    return {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": created, "lastTransitionTime": created}],
            "nodeInfo": {"kubeletVersion": "v1.32.0-eks-sandbox", "osImage": "Amazon Linux 2023",
                         "architecture": "amd64", "operatingSystem": "linux",
                         "containerRuntimeVersion": "containerd://1.7.0"},
            "capacity": {"cpu": "4", "memory": "16069568Ki", "pods": "58"},
            "allocatable": {"cpu": "3920m", "memory": "15378368Ki", "pods": "58"},
            "addresses": [{"type": "InternalIP", "address": "192.168.12.34"}]}


def ensure_defaults(crud) -> None:
    """Create whatever bootstrap object is missing (idempotent)."""
    for skey, body in default_objects():
        meta = body["metadata"]
        if crud.store.get(skey, meta.get("namespace", ""), meta["name"]) is not None:
            continue
        created = crud.system_create(skey, body)
        if skey == ("", "nodes"):
            t = next(t for t in crud.registry.all() if t.store_key == skey)
            crud.update(t, "", meta["name"], dict(created, status=node_status(
                created["metadata"]["creationTimestamp"])), {}, "status")
