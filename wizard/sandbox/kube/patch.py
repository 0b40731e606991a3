"""The patch formats the API server accepts: JSON merge, JSON patch and strategic merge.

JSON patch (RFC 6902) and its pointers (RFC 6901) are the ``jsonpatch`` and ``jsonpointer``
libraries'; this module gives their refusals the errors kube-apiserver gives.

Strategic merge follows Kubernetes' patch strategies for the fields the lab's built-in kinds
use (lists of containers, env, ports, volumes, conditions... merged by key; ``finalizers``
merged as a set) and understands the directives kubectl sends (``$patch``,
``$setElementOrder/``, ``$deleteFromPrimitiveList/``, ``$retainKeys``).
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, bad_request

#: list field name -> merge key, for strategic merge (fields not listed are replaced whole)
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name",
    "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "secrets": "name", "envFrom": None,
}
#: primitive lists merged as sets
SET_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


def _pointer(path: Any) -> "jsonpointer.JsonPointer":
    """Parse an RFC 6901 JSON pointer (jsonpointer's parser); 400 as kube-apiserver says it."""
    import jsonpointer

    try:
        return jsonpointer.JsonPointer(path)
    except (jsonpointer.JsonPointerException, TypeError, AttributeError):
        raise bad_request(f'the server rejected our request due to an error in our request: '
                          f'JSON pointer "{path}" must start with "/"') from None


def _missing(path: str) -> ApiError:
    """kube-apiserver's answer for a pointer that leads nowhere."""
    return ApiError(422, f"jsonpatch: path {path} does not exist: missing value", "Invalid")


def _why_not(doc: Any, op: dict) -> ApiError:
    """The error kube-apiserver (evanphx/json-patch) gives for an operation that does not apply,
    worked out with jsonpointer from the document it was applied to."""
    import jsonpointer

    kind, path = op["op"], op["path"]
    if kind == "test":
        return ApiError(422, f"jsonpatch: testing value {path} failed: test failed", "Invalid")
    if kind == "remove":
        return ApiError(422, f"jsonpatch: remove operation does not apply: doc is missing path: "
                             f"{path}: missing value", "Invalid")
    absent = object()
    if kind in ("move", "copy") and _pointer(op["from"]).resolve(doc, absent) is absent:
        return _missing(op["from"])
    if kind == "replace":
        return _missing(path)
    pointer = _pointer(path)
    parent = jsonpointer.JsonPointer.from_parts(pointer.parts[:-1]).resolve(doc, absent)
    if parent is absent:
        return _missing(path)
    if isinstance(parent, list):
        return ApiError(422, f"jsonpatch: add operation index {pointer.parts[-1]} out of bounds",
                        "Invalid")
    return ApiError(422, f"jsonpatch: add operation does not apply: doc is missing path: {path}",
                    "Invalid")


def json_patch(doc: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test), applied by ``jsonpatch``;
    requests it refuses get kube-apiserver's errors (400 for a malformed patch, 422 for an
    operation that does not apply, naming the path)."""
    import jsonpatch
    import jsonpointer

    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    for op in ops:  # the shape first: nothing is applied from a malformed patch
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation: {op!r}; each needs 'op' and 'path'")
        kind, path = op["op"], op["path"]
        if kind not in OPERATIONS:
            raise bad_request(f"unexpected JSON patch operation '{kind}'")
        if kind in ("add", "replace", "test") and "value" not in op:
            raise bad_request(f"JSON patch '{kind}' operation at {path} is missing 'value'")
        _pointer(path)
        if kind in ("move", "copy"):
            _pointer(op.get("from", ""))
    doc = copy.deepcopy(doc)
    for op in ops:  # one at a time, so an error names the operation that failed
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
            raise _why_not(doc, op) from None
    return doc


def _merge_key(field: str, parents: tuple[str, ...]) -> str | None:
    """The merge key of a list field given where it sits (ports differ by owner)."""
    if field == "ports":
        return "containerPort" if parents and parents[-1] in ("containers", "initContainers") \
            else "port"
    return MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any, parents: tuple[str, ...] = ()) -> Any:
    """Apply a strategic merge patch to ``target`` (a deep copy is returned)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    orders = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$setElementOrder/")}
    deletes = {k.split("/", 1)[1]: v for k, v in patch.items()
               if k.startswith("$deleteFromPrimitiveList/")}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value, parents + (key,))
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, parents + (key,))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    for key, values in deletes.items():
        if isinstance(result.get(key), list):
            result[key] = [v for v in result[key] if v not in values]
    for key, order in orders.items():
        if isinstance(result.get(key), list):
            result[key] = _reorder(key, result[key], order, parents + (key,))
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(field: str, current: Any, patch: list, parents: tuple[str, ...]) -> list:
    """Merge one list field by its strategy (by key, as a set, or replace)."""
    if field in SET_LISTS:
        out = list(current) if isinstance(current, list) else []
        for item in patch:
            if item not in out:
                out.append(item)
        return out
    key = _merge_key(field, parents[:-1])
    if not key or not isinstance(current, list) or \
            not all(isinstance(i, dict) for i in patch):
        return [i for i in copy.deepcopy(patch)
                if not (isinstance(i, dict) and i.get("$patch") == "delete")]
    out = copy.deepcopy(current)
    for item in patch:
        if item.get("$patch") == "replace":
            return [i for i in copy.deepcopy(patch) if i.get("$patch") != "replace"]
        idx = next((n for n, cur in enumerate(out)
                    if isinstance(cur, dict) and key in item and cur.get(key) == item.get(key)),
                   None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(strategic_merge({}, item, parents))
        else:
            out[idx] = strategic_merge(out[idx], item, parents)
    return out


def _reorder(field: str, items: list, order: list, parents: tuple[str, ...]) -> list:
    """Order a merged list as ``$setElementOrder`` asks; items it does not name go last."""
    key = _merge_key(field, parents[:-1])

    def ident(item: Any) -> Any:
        """The value a list item is ordered by (its merge key, or itself)."""
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    ranked = sorted(range(len(items)), key=lambda n: (
        wanted.index(ident(items[n])) if ident(items[n]) in wanted else len(wanted) + n))
    return [items[n] for n in ranked]
