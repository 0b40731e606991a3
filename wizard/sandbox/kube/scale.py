"""The ``scale`` subresource of deployments and replica sets (autoscaling/v1 ``Scale``).

``kubectl scale deployment/x --replicas=N`` reads and patches ``.../deployments/x/scale``. The
answer is a ``Scale`` built from the object (``spec.replicas``, ``status.replicas`` and the
selector as a label-selector string); a write changes only the object's ``spec.replicas``,
through the normal update path, so generation, resourceVersion, watches and persistence behave
as for any other change.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from . import errors, patch as patches
from .errors import ApiError

SCALE_API_VERSION = "autoscaling/v1"


def _selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as the string form ``Scale.status.selector`` carries."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def to_scale(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``Scale`` view of a deployment or replica set."""
    meta = obj["metadata"]
    return {
        "kind": "Scale", "apiVersion": SCALE_API_VERSION,
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 1))},
        "status": {"replicas": int((obj.get("status") or {}).get("replicas") or 0),
                   "selector": _selector_string((obj.get("spec") or {}).get("selector"))},
    }


def _replicas_of(scale: Any, name: str) -> int:
    """The wanted replica count of a Scale body (422 when it is not a count >= 0)."""
    if not isinstance(scale, dict):
        raise errors.bad_request("the request body must be a Scale object")
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid("Scale", "autoscaling", name, [
            {"reason": "FieldValueInvalid", "field": "spec.replicas",
             "message": f"Invalid value: {replicas!r}: must be greater than or equal to 0"}])
    return replicas


def handle_scale(api: Any, req: Any, t: Any, ns: str, name: str, verb: str) -> Any:
    """Serve GET/PUT/PATCH on ``<deployments|replicasets>/<name>/scale`` (RBAC already checked)."""
    from .api import Response

    crud = api.crud
    if verb == "get":
        return Response(200, to_scale(crud.get(t, ns, name)))
    if verb not in ("update", "patch"):
        raise ApiError(405, f"{t.plural}/scale only supports get, update and patch",
                       "MethodNotAllowed")
    with crud.store.lock:  # read, compute and write as one step, as the object verbs do
        current = crud.get(t, ns, name)
        scale = to_scale(current)
        if verb == "update":
            body = api._body(req)
        else:
            body = _patched(scale, req.body, req.header("content-type"))
        replicas = _replicas_of(body, name)
        want_rv = ((body.get("metadata") or {}).get("resourceVersion") if verb == "update"
                   else None)
        if want_rv and want_rv != current["metadata"].get("resourceVersion"):
            raise errors.conflict(t.plural, t.group, name,
                                  "the object has been modified; please apply your changes to "
                                  "the latest version and try again")
        if replicas == scale["spec"]["replicas"]:
            return Response(200, scale)
        new = copy.deepcopy(current)
        new.setdefault("spec", {})["replicas"] = replicas
        new["metadata"].pop("resourceVersion", None)
        stored = crud.update(t, ns, name, new, {}, "")
    return Response(200, to_scale(stored))


def _patched(scale: dict[str, Any], body: bytes, content_type: str) -> Any:
    """Apply a merge, strategic-merge or JSON patch to the Scale view."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        doc = json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"the patch is not valid JSON ({exc})") from None
    if kind in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
        # a Scale has no lists, so a strategic merge is a plain merge
        return patches.merge_patch(copy.deepcopy(scale), doc)
    if kind == "application/json-patch+json":
        return patches.json_patch(copy.deepcopy(scale), doc)
    raise ApiError(415, "the body of the request was in an unknown format - accepted media "
                        "types include: application/json-patch+json, application/merge-patch"
                        "+json, application/strategic-merge-patch+json", "UnsupportedMediaType")
