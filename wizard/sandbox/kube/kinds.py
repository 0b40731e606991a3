"""Per-kind behaviour of built-in types: defaults on create, checks, and derived fields.

The real API server runs a "strategy" per kind; this module holds the parts the lab touches:
Secrets fold ``stringData`` into base64 ``data`` and default to ``Opaque``; Namespaces get
their name label and phase; Services get a cluster IP; Pods and Deployments get their
defaults; CRDs are checked and marked Established; RBAC bindings keep ``roleRef`` immutable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from .resources import ResourceType

DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
LABEL_KEY_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")

Causes = list[dict[str, str]]


def _cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict[str, str]:
    """One StatusCause."""
    return {"reason": reason, "message": message, "field": field}


def check_name(t: ResourceType, name: str) -> Causes:
    """Name format rules for the kind (DNS label, DNS subdomain or RBAC path segment)."""
    if t.group == "rbac.authorization.k8s.io":
        if name in (".", "..") or "/" in name or "%" in name:
            return [_cause("metadata.name", f'Invalid value: "{name}": may not contain \'/\' or '
                                            "'%'")]
        return []
    if t.plural == "namespaces" or (t.plural in ("services",) and not t.group):
        pattern, what = (DNS_1035, "a DNS-1035 label") if t.plural == "services" else \
            (DNS_LABEL, "a lowercase RFC 1123 label")
        if len(name) > 63 or not pattern.fullmatch(name):
            return [_cause("metadata.name", f'Invalid value: "{name}": {what} must consist of lower '
                                            "case alphanumeric characters or '-', and must start "
                                            "and end with an alphanumeric character")]
        return []
    if len(name) > 253 or not DNS_SUBDOMAIN.fullmatch(name):
        return [_cause("metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 subdomain '
                                        "must consist of lower case alphanumeric characters, '-' "
                                        "or '.', and must start and end with an alphanumeric "
                                        "character (e.g. 'example.com', regex used for validation "
                                        r"is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*"
                                        r"[a-z0-9])?)*')")]
    return []


def check_metadata(meta: dict[str, Any]) -> Causes:
    """Labels must be well formed (annotations may hold anything)."""
    causes: Causes = []
    labels = meta.get("labels")
    if labels is not None and not isinstance(labels, dict):
        return [_cause("metadata.labels", "Invalid value: labels must be a map of strings")]
    for key, value in (labels or {}).items():
        prefix, _, name = key.rpartition("/")
        if (prefix and not DNS_SUBDOMAIN.fullmatch(prefix)) or len(name) > 63 or \
                not LABEL_KEY_NAME.fullmatch(name):
            causes.append(_cause("metadata.labels", f'Invalid value: "{key}": name part must '
                                                    "consist of alphanumeric characters, '-', '_' "
                                                    "or '.'"))
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.fullmatch(value):
            causes.append(_cause("metadata.labels", f'Invalid value: "{value}": a valid label must '
                                                    "be an empty string or consist of alphanumeric "
                                                    "characters, '-', '_' or '.'"))
    ann = meta.get("annotations")
    if ann is not None and (not isinstance(ann, dict) or
                            not all(isinstance(v, str) for v in ann.values())):
        causes.append(_cause("metadata.annotations", "Invalid value: annotations must be a map "
                                                     "of strings"))
    return causes


def prepare(t: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Apply the kind's defaults and derived fields to ``obj`` in place; return field errors."""
    handler = _HANDLERS.get((t.store_key))
    return handler(obj, old) if handler else []


def _secret(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Fold stringData into data, default the type, and check base64 values."""
    causes: Causes = []
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        return [_cause("data", "Invalid value: data must be a map of base64 strings")]
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            causes.append(_cause(f"data[{key}]", "Invalid value: illegal base64 data"))
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
    if old is not None and old.get("type") != obj["type"]:
        causes.append(_cause("type", f'Invalid value: "{obj["type"]}": field is immutable'))
    if old is not None and old.get("immutable") and old.get("data") != obj.get("data"):
        causes.append(_cause("data", "Forbidden: field is immutable when `immutable` is set",
                             "FieldValueForbidden"))
    return causes


def _namespace(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Name label, finalizer and phase, as the namespace registry sets them."""
    meta = obj["metadata"]
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    phase = "Terminating" if meta.get("deletionTimestamp") else "Active"
    obj["status"] = dict(obj.get("status") or {}, phase=phase)
    return []


def _service(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Type default and a stable cluster IP derived from namespace/name."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if old is not None and (old.get("spec") or {}).get("clusterIP"):
        spec["clusterIP"] = old["spec"]["clusterIP"]
    if not spec.get("clusterIP"):
        digest = hashlib.sha256(
            f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}".encode()).digest()
        spec["clusterIP"] = f"10.100.{digest[0]}.{max(digest[1], 2)}"
    spec["clusterIPs"] = [spec["clusterIP"]] if spec["clusterIP"] != "None" else ["None"]
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {"loadBalancer": {}})
    return []


def _pod(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Containers are required, each with a name and an image; status starts Pending."""
    spec = obj.get("spec")
    causes: Causes = []
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not containers:
        causes.append(_cause("spec.containers", "Required value", "FieldValueRequired"))
    for n, c in enumerate(containers or []):
        if not isinstance(c, dict) or not c.get("name"):
            causes.append(_cause(f"spec.containers[{n}].name", "Required value",
                                 "FieldValueRequired"))
        if not isinstance(c, dict) or not c.get("image"):
            causes.append(_cause(f"spec.containers[{n}].image", "Required value",
                                 "FieldValueRequired"))
    if causes:
        return causes
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    for c in containers:
        c.setdefault("imagePullPolicy", "IfNotPresent")
    if old is None:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    return []


def _deployment(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Selector required and matching the template labels; replicas and strategy defaults."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    causes: Causes = []
    selector = (spec.get("selector") or {}).get("matchLabels")
    if not spec.get("selector"):
        causes.append(_cause("spec.selector", "Required value", "FieldValueRequired"))
    labels = (((spec.get("template") or {}).get("metadata") or {}).get("labels")) or {}
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        causes.append(_cause("spec.template.metadata.labels",
                             f"Invalid value: {labels!r}: `selector` does not match template "
                             "`labels`"))
    if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
        causes.append(_cause("spec.template.spec.containers", "Required value",
                             "FieldValueRequired"))
    if old is not None and (old.get("spec") or {}).get("selector") != spec.get("selector"):
        causes.append(_cause("spec.selector", "Invalid value: field is immutable"))
    if causes:
        return causes
    spec.setdefault("replicas", 1)
    spec.setdefault("strategy", {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    if old is None:
        obj["status"] = {}
    return []


def _binding(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """roleRef is required and cannot change."""
    ref = obj.get("roleRef")
    if not isinstance(ref, dict) or not ref.get("name") or not ref.get("kind"):
        return [_cause("roleRef", "Required value", "FieldValueRequired")]
    if ref.get("kind") not in ("Role", "ClusterRole"):
        return [_cause("roleRef.kind", f'Unsupported value: "{ref.get("kind")}": supported '
                                       'values: "Role", "ClusterRole"', "FieldValueNotSupported")]
    ref.setdefault("apiGroup", "rbac.authorization.k8s.io")
    if old is not None and old.get("roleRef") != ref:
        return [_cause("roleRef", f"Invalid value: {ref!r}: cannot change roleRef")]
    for n, subject in enumerate(obj.get("subjects") or []):
        if not isinstance(subject, dict) or not subject.get("kind") or not subject.get("name"):
            return [_cause(f"subjects[{n}]", "Required value: kind and name",
                           "FieldValueRequired")]
        if subject["kind"] in ("User", "Group"):
            subject.setdefault("apiGroup", "rbac.authorization.k8s.io")
    return []


def _role(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Each rule needs verbs."""
    for n, rule in enumerate(obj.get("rules") or []):
        if not isinstance(rule, dict) or not rule.get("verbs"):
            return [_cause(f"rules[{n}].verbs", "Required value: verbs must contain at least one "
                                                "value", "FieldValueRequired")]
    return []


def _crd(obj: dict[str, Any], old: dict[str, Any] | None) -> Causes:
    """Check the CRD's names, group and versions, then mark it accepted and Established."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    names = spec.get("names") or {}
    causes: Causes = []
    for req in ("group", "names", "scope", "versions"):
        if not spec.get(req):
            causes.append(_cause(f"spec.{req}", "Required value", "FieldValueRequired"))
    for req in ("plural", "kind"):
        if names and not names.get(req):
            causes.append(_cause(f"spec.names.{req}", "Required value", "FieldValueRequired"))
    if causes:
        return causes
    if obj["metadata"]["name"] != f"{names['plural']}.{spec['group']}":
        causes.append(_cause("metadata.name", f'Invalid value: "{obj["metadata"]["name"]}": must '
                                              f"be spec.names.plural+\".\"+spec.group"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(_cause("spec.scope", f'Unsupported value: "{spec.get("scope")}": supported '
                                           'values: "Cluster", "Namespaced"',
                             "FieldValueNotSupported"))
    storage = [v for v in spec["versions"] if v.get("storage")]
    if len(storage) != 1:
        causes.append(_cause("spec.versions", "Invalid value: must have exactly one version "
                                              "marked as storage version"))
    if old is not None and (old.get("spec") or {}).get("scope") != spec.get("scope"):
        causes.append(_cause("spec.scope", "Invalid value: field is immutable"))
    if causes:
        return causes
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    now = obj["metadata"]["creationTimestamp"]
    stored = list((old or {}).get("status", {}).get("storedVersions") or [])
    if storage[0]["name"] not in stored:
        stored.append(storage[0]["name"])
    obj["status"] = {
        "acceptedNames": dict(names),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": stored,
    }
    return []


_HANDLERS = {
    ("", "secrets"): _secret,
    ("", "namespaces"): _namespace,
    ("", "services"): _service,
    ("", "pods"): _pod,
    ("apps", "deployments"): _deployment,
    ("rbac.authorization.k8s.io", "rolebindings"): _binding,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _binding,
    ("rbac.authorization.k8s.io", "roles"): _role,
    ("rbac.authorization.k8s.io", "clusterroles"): _role,
    ("apiextensions.k8s.io", "customresourcedefinitions"): _crd,
}


def core_event_from_v1(ev: dict[str, Any]) -> dict[str, Any]:
    """An events.k8s.io/v1 Event as the core/v1 Event it is stored as."""
    out = {k: v for k, v in ev.items() if k in ("metadata", "reason", "type", "eventTime",
                                                  "series", "action", "related",
                                                  "reportingInstance")}
    out.update({"apiVersion": "v1", "kind": "Event"})
    out["involvedObject"] = ev.get("regarding") or {}
    out["message"] = ev.get("note", "")
    out["reportingComponent"] = ev.get("reportingController", "")
    src = ev.get("deprecatedSource")
    if src:
        out["source"] = src
    for core, new in (("firstTimestamp", "deprecatedFirstTimestamp"),
                      ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount")):
        if ev.get(new) is not None:
            out[core] = ev[new]
    return out


def v1_event_from_core(ev: dict[str, Any]) -> dict[str, Any]:
    """A stored core/v1 Event as events.k8s.io/v1 shows it."""
    out = {k: v for k, v in ev.items() if k in ("metadata", "reason", "type", "eventTime",
                                                  "series", "action", "related",
                                                  "reportingInstance")}
    out.update({"apiVersion": "events.k8s.io/v1", "kind": "Event"})
    if not out.get("eventTime"):
        # legacy events carry no eventTime; clients (the python one) require it, so derive it
        stamp = ev.get("firstTimestamp") or (ev.get("metadata") or {}).get("creationTimestamp")
        if stamp:
            out["eventTime"] = stamp.replace("Z", ".000000Z") if "." not in stamp else stamp
    out["regarding"] = ev.get("involvedObject") or {}
    if ev.get("message") is not None:
        out["note"] = ev["message"]
    controller = ev.get("reportingComponent") or (ev.get("source") or {}).get("component")
    if controller:
        out["reportingController"] = controller
    if ev.get("source"):
        out["deprecatedSource"] = ev["source"]
    for core, new in (("firstTimestamp", "deprecatedFirstTimestamp"),
                      ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount")):
        if ev.get(core) is not None:
            out[new] = ev[core]
    return out
