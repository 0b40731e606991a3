"""The resource types the sandbox's API server serves: built-in kinds plus those CRDs install.

A :class:`ResourceType` says where a kind lives (group, version, plural), whether it is
namespaced, which verbs and subresources it takes, and where it is stored. Custom resources get
their types from their CRD (see :func:`types_from_crd`), so discovery follows CRDs as they come
and go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

READ_VERBS = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives, its kind, scope, verbs and subresources."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    #: the CRD that defines this type, or None for a built-in kind
    crd: str | None = None
    #: storage group when it differs from ``group`` (events.k8s.io events share core storage)
    storage_group: str | None = None
    #: a create-only review kind that is never stored (SubjectAccessReview and friends)
    virtual: bool = False
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)

    @property
    def api_version(self) -> str:
        """``group/version``, or just ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_key(self) -> tuple[str, str]:
        """The (group, plural) the objects are stored under."""
        return (self.storage_group if self.storage_group is not None else self.group, self.plural)

    @property
    def qualified(self) -> str:
        """``plural.group`` as messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _t(group, version, plural, singular, kind, namespaced, short=(), **kw) -> ResourceType:
    """Shorthand constructor for the built-in table below."""
    return ResourceType(group, version, plural, singular, kind, namespaced, tuple(short), **kw)


REVIEW_VERBS = ("create",)

BUILTIN: tuple[ResourceType, ...] = (
    _t("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",),
       verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
       subresources=("status",)),
    _t("", "v1", "secrets", "secret", "Secret", True),
    _t("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ("sa",),
       subresources=("token",)),
    _t("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",)),
    _t("", "v1", "events", "event", "Event", True, ("ev",)),
    _t("", "v1", "pods", "pod", "Pod", True, ("po",), subresources=("status",),
       categories=("all",)),
    _t("", "v1", "services", "service", "Service", True, ("svc",), subresources=("status",),
       categories=("all",)),
    _t("", "v1", "nodes", "node", "Node", False, ("no",), subresources=("status",)),
    _t("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", True, ("quota",),
       subresources=("status",)),
    _t("", "v1", "limitranges", "limitrange", "LimitRange", True, ("limits",)),
    _t("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim",
       True, ("pvc",), subresources=("status",)),
    _t("apps", "v1", "deployments", "deployment", "Deployment", True, ("deploy",),
       subresources=("status", "scale"), categories=("all",)),
    _t("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, ("rs",),
       subresources=("status", "scale"), categories=("all",)),
    _t("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", True, ("ing",),
       subresources=("status",)),
    _t("events.k8s.io", "v1", "events", "event", "Event", True, ("ev",), storage_group=""),
    _t("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True),
    _t("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True),
    _t("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False),
    _t("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding",
       "ClusterRoleBinding", False),
    _t("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
       "CustomResourceDefinition", False, ("crd", "crds"), subresources=("status",),
       categories=("api-extensions",)),
    _t("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview",
       "SelfSubjectAccessReview", False, verbs=REVIEW_VERBS, virtual=True),
    _t("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "selfsubjectrulesreview",
       "SelfSubjectRulesReview", False, verbs=REVIEW_VERBS, virtual=True),
    _t("authorization.k8s.io", "v1", "subjectaccessreviews", "subjectaccessreview",
       "SubjectAccessReview", False, verbs=REVIEW_VERBS, virtual=True),
    _t("authorization.k8s.io", "v1", "localsubjectaccessreviews", "localsubjectaccessreview",
       "LocalSubjectAccessReview", True, verbs=REVIEW_VERBS, virtual=True),
    _t("authentication.k8s.io", "v1", "selfsubjectreviews", "selfsubjectreview",
       "SelfSubjectReview", False, verbs=REVIEW_VERBS, virtual=True),
)

#: kinds whose main endpoint ignores status (the real registry strategies reset it)
STATUS_RESET_ON_MAIN = {("", "pods"), ("", "namespaces"), ("", "services"), ("", "nodes"),
                        ("apps", "deployments"), ("apps", "replicasets"),
                        ("networking.k8s.io", "ingresses"),
                        ("", "resourcequotas"), ("", "persistentvolumeclaims"),
                        ("apiextensions.k8s.io", "customresourcedefinitions")}


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The served versions of a CRD as resource types (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for ver in spec.get("versions") or []:
        if not ver.get("served", True):
            continue
        subs = tuple(k for k in ("status", "scale") if k in (ver.get("subresources") or {}))
        out.append(ResourceType(
            group=spec.get("group", ""), version=ver.get("name", "v1"),
            plural=names.get("plural", ""), singular=names.get("singular") or
            names.get("kind", "").lower(), kind=names.get("kind", ""),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=subs, crd=crd["metadata"]["name"],
            printer_columns=tuple(ver.get("additionalPrinterColumns") or ()),
        ))
    return out


def crd_version_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema a CRD declares for ``version`` (None when it declares none)."""
    for ver in (crd.get("spec") or {}).get("versions") or []:
        if ver.get("name") == version:
            return ((ver.get("schema") or {}).get("openAPIV3Schema"))
    return None


def group_versions(types: list[ResourceType]) -> dict[str, list[str]]:
    """Group -> served versions (preferred first), in a stable order."""
    out: dict[str, list[str]] = {}
    for t in types:
        versions = out.setdefault(t.group, [])
        if t.version not in versions:
            versions.append(t.version)
    for versions in out.values():
        versions.sort(key=_version_priority)
    return out


def _version_priority(version: str) -> tuple[int, int, int]:
    """Sort key: GA before beta before alpha, higher numbers first (as Kubernetes orders)."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor)


def discovery_resource(t: ResourceType) -> list[dict[str, Any]]:
    """APIResource entries (the resource and its subresources) for ``/apis/<g>/<v>``."""
    entry = {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
             "kind": t.kind, "verbs": list(t.verbs)}
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    out = [entry]
    for sub in t.subresources:
        if sub == "token":
            out.append({"name": f"{t.plural}/token", "singularName": "", "namespaced": True,
                        "group": "authentication.k8s.io", "version": "v1",
                        "kind": "TokenRequest", "verbs": ["create"]})
        elif sub == "scale":
            out.append({"name": f"{t.plural}/scale", "singularName": "",
                        "namespaced": t.namespaced, "group": "autoscaling", "version": "v1",
                        "kind": "Scale", "verbs": ["get", "patch", "update"]})
        else:
            out.append({"name": f"{t.plural}/{sub}", "singularName": "",
                        "namespaced": t.namespaced, "kind": t.kind,
                        "verbs": ["get", "patch", "update"]})
    return out
