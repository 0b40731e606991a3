"""Server-side ``Table`` output, so ``kubectl get`` prints the columns the real server sends.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io``; this module builds those
tables: Name/Age for any kind, the familiar columns for the built-ins the lab shows, and a CRD's
``additionalPrinterColumns`` (simple JSONPaths) for custom resources.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable

from .resources import ResourceType

Column = tuple[str, str, int, Callable[[dict[str, Any]], Any]]


def human_age(ts: str | None) -> str:
    """A timestamp's age the way kubectl shows it (``45s``, ``3m12s``, ``5h``, ``12d``)."""
    if not ts:
        return "<unknown>"
    try:
        then = datetime.strptime(ts.replace("Z", "+0000")[:24], "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return "<invalid>"
    secs = int((datetime.now(timezone.utc) - then).total_seconds())
    if secs < 0:
        return "0s"
    mins, hours, days = secs // 60, secs // 3600, secs // 86400
    if secs < 120:
        return f"{secs}s"
    if mins < 10:
        return f"{mins}m{secs % 60}s" if secs % 60 else f"{mins}m"
    if mins < 180:
        return f"{mins}m"
    if hours < 8:
        return f"{hours}h{mins % 60}m" if mins % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def _age(o: dict[str, Any]) -> str:
    """The AGE cell."""
    return human_age((o.get("metadata") or {}).get("creationTimestamp"))


def _name(o: dict[str, Any]) -> str:
    """The NAME cell."""
    return (o.get("metadata") or {}).get("name", "")


def _pod_ready(o: dict[str, Any]) -> str:
    """READY for a pod: ready containers / containers."""
    statuses = (o.get("status") or {}).get("containerStatuses") or []
    total = len((o.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(o: dict[str, Any]) -> str:
    """STATUS for a pod: a waiting/terminated reason, else the phase."""
    if (o.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    status = o.get("status") or {}
    for s in status.get("containerStatuses") or []:
        state = s.get("state") or {}
        for key in ("waiting", "terminated"):
            if (state.get(key) or {}).get("reason"):
                return state[key]["reason"]
    return status.get("reason") or status.get("phase") or "Unknown"


def _ports(o: dict[str, Any]) -> str:
    """PORT(S) for a service."""
    ports = (o.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _binding_role(o: dict[str, Any]) -> str:
    """ROLE for a binding."""
    ref = o.get("roleRef") or {}
    return f"{ref.get('kind')}/{ref.get('name')}"


def _event_object(o: dict[str, Any]) -> str:
    """OBJECT for an event."""
    inv = o.get("involvedObject") or o.get("regarding") or {}
    return f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}"


def _event_last_seen(o: dict[str, Any]) -> str:
    """LAST SEEN for an event."""
    ts = o.get("lastTimestamp") or o.get("eventTime") or \
        (o.get("metadata") or {}).get("creationTimestamp")
    return human_age(ts)


def _dep(field: str) -> Callable[[dict[str, Any]], Any]:
    """A deployment status count (0 when unset)."""
    return lambda o: (o.get("status") or {}).get(field) or 0


def _ingress_address(obj: dict[str, Any]) -> str:
    """The load balancer's addresses, as kubectl's ADDRESS column shows them."""
    found = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ",".join(i.get("hostname") or i.get("ip") or "" for i in found)


def _ingress_hosts(obj: dict[str, Any]) -> str:
    """The rules' hosts (``*`` for a rule without one)."""
    rules = (obj.get("spec") or {}).get("rules") or []
    return ",".join(r.get("host") or "*" for r in rules) or "*"


def _ingress_ports(obj: dict[str, Any]) -> str:
    """80, and 443 when the ingress has TLS."""
    return "80, 443" if (obj.get("spec") or {}).get("tls") else "80"


BUILTIN_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("networking.k8s.io", "ingresses"): [
        ("Class", "string", 0, lambda o: (o.get("spec") or {}).get("ingressClassName") or "<none>"),
        ("Hosts", "string", 0, _ingress_hosts), ("Address", "string", 0, _ingress_address),
        ("Ports", "string", 0, _ingress_ports), ("Age", "string", 0, _age)],
    ("", "pods"): [("Ready", "string", 0, _pod_ready), ("Status", "string", 0, _pod_status),
                   ("Restarts", "integer", 0, lambda o: sum(
                       s.get("restartCount", 0) for s in
                       (o.get("status") or {}).get("containerStatuses") or [])),
                   ("Age", "string", 0, _age),
                   ("IP", "string", 1, lambda o: (o.get("status") or {}).get("podIP", "<none>")),
                   ("Node", "string", 1, lambda o: (o.get("spec") or {}).get("nodeName",
                                                                             "<none>"))],
    ("apps", "deployments"): [
        ("Ready", "string", 0, lambda o: f"{_dep('readyReplicas')(o)}/"
                                         f"{(o.get('spec') or {}).get('replicas', 0)}"),
        ("Up-to-date", "integer", 0, _dep("updatedReplicas")),
        ("Available", "integer", 0, _dep("availableReplicas")), ("Age", "string", 0, _age),
        ("Containers", "string", 1, lambda o: ",".join(
            c.get("name", "") for c in ((((o.get("spec") or {}).get("template") or {})
                                         .get("spec") or {}).get("containers") or []))),
        ("Images", "string", 1, lambda o: ",".join(
            c.get("image", "") for c in ((((o.get("spec") or {}).get("template") or {})
                                          .get("spec") or {}).get("containers") or [])))],
    ("", "nodes"): [("Status", "string", 0, lambda o: next(
        ("Ready" if c.get("status") == "True" else "NotReady"
         for c in (o.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"),
        "Unknown")),
                     ("Roles", "string", 0, lambda o: "<none>"), ("Age", "string", 0, _age),
                     ("Version", "string", 0, lambda o: ((o.get("status") or {}).get(
                         "nodeInfo") or {}).get("kubeletVersion", ""))],
    ("", "secrets"): [("Type", "string", 0, lambda o: o.get("type", "")),
                      ("Data", "integer", 0, lambda o: len(o.get("data") or {})),
                      ("Age", "string", 0, _age)],
    ("", "configmaps"): [("Data", "integer", 0, lambda o: len(o.get("data") or {}) +
                          len(o.get("binaryData") or {})), ("Age", "string", 0, _age)],
    ("", "serviceaccounts"): [("Secrets", "integer", 0, lambda o: len(o.get("secrets") or [])),
                              ("Age", "string", 0, _age)],
    ("", "namespaces"): [("Status", "string", 0, lambda o: (o.get("status") or {}).get("phase",
                                                                                       "")),
                         ("Age", "string", 0, _age)],
    ("", "services"): [("Type", "string", 0, lambda o: (o.get("spec") or {}).get("type", "")),
                       ("Cluster-IP", "string", 0, lambda o: (o.get("spec") or {}).get(
                           "clusterIP", "")),
                       ("External-IP", "string", 0, lambda o: "<none>"),
                       ("Port(s)", "string", 0, _ports), ("Age", "string", 0, _age)],
    ("", "events"): [("Last Seen", "string", 0, _event_last_seen),
                     ("Type", "string", 0, lambda o: o.get("type", "")),
                     ("Reason", "string", 0, lambda o: o.get("reason", "")),
                     ("Object", "string", 0, _event_object),
                     ("Message", "string", 0, lambda o: o.get("message") or o.get("note", ""))],
    ("rbac.authorization.k8s.io", "rolebindings"): [("Role", "string", 0, _binding_role),
                                                    ("Age", "string", 0, _age)],
    ("rbac.authorization.k8s.io", "clusterrolebindings"): [("Role", "string", 0, _binding_role),
                                                           ("Age", "string", 0, _age)],
    ("rbac.authorization.k8s.io", "roles"): [
        ("Created At", "date", 0, lambda o: o["metadata"].get("creationTimestamp"))],
    ("rbac.authorization.k8s.io", "clusterroles"): [
        ("Created At", "date", 0, lambda o: o["metadata"].get("creationTimestamp"))],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [
        ("Created At", "date", 0, lambda o: o["metadata"].get("creationTimestamp"))],
}


def _json_path(path: str) -> Callable[[dict[str, Any]], Any]:
    """A getter for a simple JSONPath (``.a.b``, ``.a[0].b``) as printer columns use."""
    parts = [p for p in re.split(r"\.|\[(\d+)\]", path.strip().lstrip("{").rstrip("}")) if p]

    def get(o: dict[str, Any]) -> Any:
        """Follow the path through the object (None when it leaves the data)."""
        cur: Any = o
        for part in parts:
            if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
                cur = cur[int(part)]
            elif isinstance(cur, dict):
                cur = cur.get(part)
            else:
                return None
        return cur
    return get


def columns_for(t: ResourceType) -> list[Column]:
    """The columns after Name for a type."""
    if t.crd:
        if not t.printer_columns:
            return [("Age", "date", 0, _age)]
        cols = []
        for col in t.printer_columns:
            getter = _json_path(col.get("jsonPath", ""))
            if col.get("type") == "date" or col.get("jsonPath") == ".metadata.creationTimestamp":
                cols.append((col["name"], "string", col.get("priority", 0),
                             lambda o, g=getter: human_age(g(o))))
            else:
                cols.append((col["name"], col.get("type", "string"), col.get("priority", 0),
                             getter))
        return cols
    return BUILTIN_COLUMNS.get(t.store_key, [("Age", "string", 0, _age)])


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    """What a row carries: nothing, the object's metadata, or the object."""
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def table(t: ResourceType, objects: list[dict[str, Any]], rv: str,
          include: str = "Metadata", cont: str | None = None) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of ``objects``."""
    cols = columns_for(t)
    first = [] if t.store_key == ("", "events") else [("Name", "string", 0, _name)]
    all_cols = first + cols
    defs = [{"name": name, "type": typ, "format": "name" if name == "Name" else "",
             "description": name, "priority": prio} for name, typ, prio, _ in all_cols]
    rows = []
    for obj in objects:
        cells = []
        for _, _, _, getter in all_cols:
            try:
                value = getter(obj)
            except (KeyError, TypeError, AttributeError):
                value = None
            cells.append(value if value is not None else "")
        row: dict[str, Any] = {"cells": cells}
        ro = _row_object(obj, include)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    meta = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": defs, "rows": rows}
