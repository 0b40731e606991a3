"""Decoding of the Kubernetes protobuf bodies kubectl sends for built-in kinds.

kubectl's typed clients POST some objects as ``application/vnd.kubernetes.protobuf``: access
reviews (``auth can-i``), ``SelfSubjectReview`` (``auth whoami``), TokenRequest (``create
token``) and the objects of ``kubectl create configmap|secret|namespace|serviceaccount|role|
rolebinding|clusterrole|clusterrolebinding|deployment|service`` and ``kubectl run``. A body is
the ``k8s\\0`` magic and a ``runtime.Unknown`` envelope whose ``raw`` field holds the object.

Messages are described below by field number (the wire contract of k8s.io/api); decoding turns
them into the JSON shape the rest of the server handles. A populated field that is not
described is refused with 415 rather than dropped, so nothing is silently lost. Answers always
go back as JSON, which kubectl accepts too.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

from .errors import ApiError

MAGIC = b"k8s\x00"
META = "metadata:ObjectMeta"

#: message -> field number -> "jsonName:type" (``*`` repeated; ``-`` ignored entirely).
#: types: s string, b bytes, i integer, ? bool, T Time, IS IntOrString, Q Quantity,
#: ms/mb/mQ maps of string/bytes/Quantity, or a message name.
MESSAGES: dict[str, dict[int, str]] = {
    "ObjectMeta": {1: "name:s", 2: "generateName:s", 3: "namespace:s", 4: "selfLink:s",
                   5: "uid:s", 6: "resourceVersion:s", 7: "generation:i",
                   8: "creationTimestamp:T", 9: "deletionTimestamp:T",
                   10: "deletionGracePeriodSeconds:i", 11: "labels:ms", 12: "annotations:ms",
                   13: "ownerReferences:OwnerReference*", 14: "finalizers:s*",
                   17: "managedFields:-"},
    "OwnerReference": {1: "kind:s", 3: "name:s", 4: "uid:s", 5: "apiVersion:s",
                       6: "controller:?", 7: "blockOwnerDeletion:?"},
    "LabelSelector": {1: "matchLabels:ms", 2: "matchExpressions:LabelSelectorRequirement*"},
    "LabelSelectorRequirement": {1: "key:s", 2: "operator:s", 3: "values:s*"},
    "ObjectReference": {1: "kind:s", 2: "namespace:s", 3: "name:s", 4: "uid:s",
                        5: "apiVersion:s", 6: "resourceVersion:s", 7: "fieldPath:s"},
    "LocalObjectReference": {1: "name:s"},
    # core/v1
    "ConfigMap": {1: META, 2: "data:ms", 3: "binaryData:mb", 4: "immutable:?"},
    "Secret": {1: META, 2: "data:mb", 3: "type:s", 4: "stringData:ms", 5: "immutable:?"},
    "Namespace": {1: META, 2: "spec:NamespaceSpec", 3: "status:-"},
    "NamespaceSpec": {1: "finalizers:s*"},
    "ServiceAccount": {1: META, 2: "secrets:ObjectReference*",
                       3: "imagePullSecrets:LocalObjectReference*",
                       4: "automountServiceAccountToken:?"},
    "Pod": {1: META, 2: "spec:PodSpec", 3: "status:-"},
    "PodTemplateSpec": {1: META, 2: "spec:PodSpec"},
    "PodSpec": {2: "containers:Container*", 20: "initContainers:Container*",
                3: "restartPolicy:s", 4: "terminationGracePeriodSeconds:i",
                5: "activeDeadlineSeconds:i", 6: "dnsPolicy:s", 7: "nodeSelector:ms",
                8: "serviceAccountName:s", 9: "serviceAccount:s",
                21: "automountServiceAccountToken:?", 10: "nodeName:s",
                15: "imagePullSecrets:LocalObjectReference*", 16: "hostname:s",
                19: "schedulerName:s", 24: "priorityClassName:s", 25: "priority:i",
                30: "enableServiceLinks:?", 31: "preemptionPolicy:s"},
    "Container": {1: "name:s", 2: "image:s", 3: "command:s*", 4: "args:s*", 5: "workingDir:s",
                  6: "ports:ContainerPort*", 7: "env:EnvVar*",
                  8: "resources:ResourceRequirements", 9: "volumeMounts:VolumeMount*",
                  13: "terminationMessagePath:s", 14: "imagePullPolicy:s", 16: "stdin:?",
                  17: "stdinOnce:?", 18: "tty:?", 20: "terminationMessagePolicy:s"},
    "ContainerPort": {1: "name:s", 2: "hostPort:i", 3: "containerPort:i", 4: "protocol:s",
                      5: "hostIP:s"},
    "EnvVar": {1: "name:s", 2: "value:s"},
    "ResourceRequirements": {1: "limits:mQ", 2: "requests:mQ"},
    "VolumeMount": {1: "name:s", 2: "readOnly:?", 3: "mountPath:s", 4: "subPath:s"},
    "Service": {1: META, 2: "spec:ServiceSpec", 3: "status:-"},
    "ServiceSpec": {1: "ports:ServicePort*", 2: "selector:ms", 3: "clusterIP:s",
                    18: "clusterIPs:s*", 4: "type:s", 5: "externalIPs:s*",
                    7: "sessionAffinity:s", 10: "externalName:s",
                    11: "externalTrafficPolicy:s", 17: "ipFamilyPolicy:s",
                    19: "ipFamilies:s*", 22: "internalTrafficPolicy:s"},
    "ServicePort": {1: "name:s", 2: "protocol:s", 3: "port:i", 4: "targetPort:IS",
                    5: "nodePort:i", 6: "appProtocol:s"},
    "Event": {1: META, 2: "involvedObject:ObjectReference", 3: "reason:s", 4: "message:s",
              5: "source:EventSource", 6: "firstTimestamp:T", 7: "lastTimestamp:T",
              8: "count:i", 9: "type:s", 10: "eventTime:T", 12: "action:s",
              13: "related:ObjectReference", 14: "reportingComponent:s",
              15: "reportingInstance:s"},
    "EventSource": {1: "component:s", 2: "host:s"},
    # apps/v1
    "Deployment": {1: META, 2: "spec:DeploymentSpec", 3: "status:-"},
    "DeploymentSpec": {1: "replicas:i", 2: "selector:LabelSelector",
                       3: "template:PodTemplateSpec", 4: "strategy:DeploymentStrategy",
                       5: "minReadySeconds:i", 6: "revisionHistoryLimit:i", 7: "paused:?",
                       9: "progressDeadlineSeconds:i"},
    "DeploymentStrategy": {1: "type:s", 2: "rollingUpdate:RollingUpdateDeployment"},
    "RollingUpdateDeployment": {1: "maxUnavailable:IS", 2: "maxSurge:IS"},
    # rbac.authorization.k8s.io/v1
    "Role": {1: META, 2: "rules:PolicyRule*"},
    "ClusterRole": {1: META, 2: "rules:PolicyRule*", 3: "aggregationRule:AggregationRule"},
    "RoleBinding": {1: META, 2: "subjects:Subject*", 3: "roleRef:RoleRef"},
    "ClusterRoleBinding": {1: META, 2: "subjects:Subject*", 3: "roleRef:RoleRef"},
    "PolicyRule": {1: "verbs:s*", 2: "apiGroups:s*", 3: "resources:s*", 4: "resourceNames:s*",
                   5: "nonResourceURLs:s*"},
    "Subject": {1: "kind:s", 2: "apiGroup:s", 3: "name:s", 4: "namespace:s"},
    "RoleRef": {1: "apiGroup:s", 2: "kind:s", 3: "name:s"},
    "AggregationRule": {1: "clusterRoleSelectors:LabelSelector*"},
    # authorization.k8s.io/v1 and authentication.k8s.io/v1
    "SelfSubjectAccessReview": {1: META, 2: "spec:SelfSubjectAccessReviewSpec", 3: "status:-"},
    "SelfSubjectAccessReviewSpec": {1: "resourceAttributes:ResourceAttributes",
                                    2: "nonResourceAttributes:NonResourceAttributes"},
    "SubjectAccessReview": {1: META, 2: "spec:SubjectAccessReviewSpec", 3: "status:-"},
    "LocalSubjectAccessReview": {1: META, 2: "spec:SubjectAccessReviewSpec", 3: "status:-"},
    "SubjectAccessReviewSpec": {1: "resourceAttributes:ResourceAttributes",
                                2: "nonResourceAttributes:NonResourceAttributes",
                                3: "user:s", 4: "groups:s*", 5: "extra:-", 6: "uid:s"},
    "ResourceAttributes": {1: "namespace:s", 2: "verb:s", 3: "group:s", 4: "version:s",
                           5: "resource:s", 6: "subresource:s", 7: "name:s",
                           8: "fieldSelector:-", 9: "labelSelector:-"},
    "NonResourceAttributes": {1: "path:s", 2: "verb:s"},
    "SelfSubjectRulesReview": {1: META, 2: "spec:SelfSubjectRulesReviewSpec", 3: "status:-"},
    "SelfSubjectRulesReviewSpec": {1: "namespace:s"},
    "SelfSubjectReview": {1: META, 2: "status:-"},
    "TokenRequest": {1: META, 2: "spec:TokenRequestSpec", 3: "status:-"},
    "TokenRequestSpec": {1: "audiences:s*", 3: "boundObjectRef:BoundObjectReference",
                         4: "expirationSeconds:i"},
    "BoundObjectReference": {1: "kind:s", 2: "apiVersion:s", 3: "name:s", 4: "uid:s"},
}


class _Unsupported(Exception):
    """A populated field the descriptors do not cover."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a base-128 varint at ``pos``; returns (value, next position)."""
    shift = value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, Any]]:
    """The (field number, value) pairs of a message, in order."""
    out: list[tuple[int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated length-delimited field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def _signed(value: int) -> int:
    """A varint read as a two's-complement int64."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, value: Any) -> Any:
    """Decode one non-message value."""
    if kind == "s":
        return value.decode()
    if kind == "b":
        return base64.b64encode(value).decode()
    if kind == "i":
        return _signed(value)
    if kind == "?":
        return bool(value)
    if kind == "Q":
        return dict(fields(value)).get(1, b"").decode()
    if kind == "T":
        f = dict(fields(value))
        seconds = _signed(f.get(1, 0))
        if seconds <= 0:  # Go's zero time: the field was not set
            return None
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "IS":
        f = dict(fields(value))
        return _signed(f.get(2, 0)) if f.get(1, 0) == 0 else f.get(3, b"").decode()
    raise _Unsupported(kind)


def _map(kind: str, entries: list[bytes]) -> dict[str, Any]:
    """Decode a protobuf map (repeated key=1/value=2 entries)."""
    out = {}
    value_kind = {"ms": "s", "mb": "b", "mQ": "Q"}[kind]
    for entry in entries:
        f = dict(fields(entry))
        out[f.get(1, b"").decode()] = _scalar(value_kind, f.get(2, b""))
    return out


def _message(name: str, data: bytes, path: str) -> dict[str, Any]:
    """Decode a described message into JSON form (zero scalars left out, as omitempty does)."""
    desc = MESSAGES[name]
    grouped: dict[int, list[Any]] = {}
    for number, value in fields(data):
        grouped.setdefault(number, []).append(value)
    out: dict[str, Any] = {}
    for number, values in grouped.items():
        spec = desc.get(number)
        if spec is None:
            if all(v in (b"", 0) for v in values):
                continue  # an empty value struct or zero scalar: nothing to lose
            raise _Unsupported(f"{path}: field {number} of {name}")
        json_name, kind = spec.split(":")
        if kind == "-":
            continue
        repeated = kind.endswith("*")
        kind = kind.rstrip("*")
        if kind in ("ms", "mb", "mQ"):
            value: Any = _map(kind, values)
        elif kind in MESSAGES:
            decoded = [_message(kind, v, f"{path}.{json_name}") for v in values]
            value = decoded if repeated else decoded[-1]
        else:
            decoded = [_scalar(kind, v) for v in values]
            value = decoded if repeated else decoded[-1]
        if value is None or (value in ("", 0, False) and not isinstance(value, dict)
                             and kind not in MESSAGES) or value == [] or \
                (kind in ("ms", "mb", "mQ") and not value):
            continue
        out[json_name] = value
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object of a described kind as its JSON form."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "the protobuf body does not start with the k8s\\0 envelope",
                       "BadRequest")
    try:
        env = dict(fields(body[len(MAGIC):]))
        type_meta = dict(fields(env.get(1, b"")))
        api_version, kind = type_meta.get(1, b"").decode(), type_meta.get(2, b"").decode()
        if kind not in MESSAGES or not MESSAGES[kind].get(1, "").startswith("metadata"):
            raise _Unsupported(f"kind {kind or '(none)'}")
        doc = _message(kind, env.get(2, b""), kind)
        return {"apiVersion": api_version, "kind": kind, **doc}
    except _Unsupported as exc:
        raise ApiError(415, f"the sandbox cannot decode this protobuf body ({exc}); send it as "
                            "JSON (Content-Type: application/json) instead",
                       "UnsupportedMediaType") from None
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the protobuf body could not be decoded: {exc}", "BadRequest") \
            from None
