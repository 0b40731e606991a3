"""The patch formats the API server accepts: JSON merge, JSON patch and strategic merge.

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


def _pointer(path: str) -> list[str]:
    """Split an RFC 6901 JSON pointer into unescaped tokens."""
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f'the server rejected our request due to an error in our request: '
                          f'JSON pointer "{path}" must start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, tokens: list[str], path: str) -> tuple[Any, str]:
    """The container that holds the last token of ``path``, and that token."""
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            raise ApiError(422, f"jsonpatch: path {path} does not exist: missing value", "Invalid")
    return cur, tokens[-1]


def json_patch(doc: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation: {op!r}; each needs 'op' and 'path'")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise bad_request(f"JSON patch '{kind}' operation at {path} is missing 'value'")
        if kind == "test":
            if _get(doc, path) != op["value"]:
                raise ApiError(422, f"jsonpatch: testing value {path} failed: test failed",
                               "Invalid")
            continue
        if kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        else:
            raise bad_request(f"unexpected JSON patch operation '{kind}'")
    return doc


def _get(doc: Any, path: str) -> Any:
    """The value at a JSON pointer, or 422 when there is none."""
    cur = doc
    for tok in _pointer(path):
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            raise ApiError(422, f"jsonpatch: path {path} does not exist: missing value", "Invalid")
    return cur


def _add(doc: Any, path: str, value: Any) -> Any:
    """Add ``value`` at ``path`` (``-`` appends to a list)."""
    tokens = _pointer(path)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise ApiError(422, f"jsonpatch: add operation index {last} out of bounds", "Invalid")
    else:
        raise ApiError(422, f"jsonpatch: add operation does not apply: doc is missing path: {path}",
                       "Invalid")
    return doc


def _remove(doc: Any, path: str) -> Any:
    """Remove the value at ``path`` (422 when absent)."""
    tokens = _pointer(path)
    parent, last = _parent(doc, tokens, path)
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise ApiError(422, f"jsonpatch: remove operation does not apply: doc is missing path: "
                            f"{path}: missing value", "Invalid")
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
