"""Label and field selectors, parsed as the API server parses them.

Label selectors accept equality (``a=b``, ``a==b``, ``a!=b``), set-based (``a in (x,y)``,
``a notin (x)``), existence (``a``) and absence (``!a``) terms, comma separated. Field
selectors accept ``path=value``/``path==value``/``path!=value`` on dotted object paths (the
real server allows a short list per kind; any dotted path is accepted here).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .errors import bad_request

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"

Predicate = Callable[[dict[str, Any]], bool]


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside a ``( ... )`` value set."""
    terms, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        terms.append("".join(cur).strip())
    return [t for t in terms if t]


def _check_key(key: str, raw: str) -> str:
    """Validate a label key; raise 400 naming the selector otherwise."""
    if not re.fullmatch(_KEY, key):
        raise bad_request(f'unable to parse requirement: invalid label key "{key}" in "{raw}"')
    return key


def _check_value(value: str, raw: str) -> str:
    """Validate a label value; raise 400 naming the selector otherwise."""
    if len(value) > 63 or not re.fullmatch(_VALUE, value):
        raise bad_request(f'unable to parse requirement: invalid label value: "{value}" in "{raw}"')
    return value


def parse_label_selector(text: str | None) -> Predicate:
    """A predicate over an object's labels for a ``labelSelector`` string."""
    if not text or not text.strip():
        return lambda obj: True
    preds: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_terms(text):
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s*\((.*)\)", term)
        if m:
            key = _check_key(m.group(1), text)
            values = {_check_value(v.strip(), text) for v in m.group(3).split(",") if v.strip()}
            if m.group(2) == "in":
                preds.append(lambda lab, k=key, vs=values: k in lab and lab[k] in vs)
            else:
                preds.append(lambda lab, k=key, vs=values: k not in lab or lab[k] not in vs)
            continue
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(\S*)", term)
        if m:
            key, op, value = _check_key(m.group(1), text), m.group(2), _check_value(m.group(3), text)
            if op == "!=":
                preds.append(lambda lab, k=key, v=value: lab.get(k) != v)
            else:
                preds.append(lambda lab, k=key, v=value: k in lab and lab[k] == v)
            continue
        m = re.fullmatch(r"(!?)\s*(\S+)", term)
        if m and not re.search(r"[=()\s]", m.group(2)):
            key = _check_key(m.group(2), text)
            if m.group(1):
                preds.append(lambda lab, k=key: k not in lab)
            else:
                preds.append(lambda lab, k=key: k in lab)
            continue
        raise bad_request(f'unable to parse requirement: could not parse "{term}" in "{text}"')

    def match(obj: dict[str, Any]) -> bool:
        """Whether an object's labels meet every term."""
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(p(labels) for p in preds)

    return match


def _lookup(obj: dict[str, Any], path: str) -> str:
    """The value at a dotted path rendered as text ("" when absent), as field selectors compare."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(text: str | None) -> Predicate:
    """A predicate over whole objects for a ``fieldSelector`` string."""
    if not text or not text.strip():
        return lambda obj: True
    preds: list[Predicate] = []
    for term in _split_terms(text):
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(==|=|!=)\s*(.*)", term)
        if not m:
            raise bad_request(f'invalid selector: \'{text}\'; can\'t understand \'{term}\'')
        path, op, value = m.group(1), m.group(2), m.group(3).strip()
        if op == "!=":
            preds.append(lambda o, p=path, v=value: _lookup(o, p) != v)
        else:
            preds.append(lambda o, p=path, v=value: _lookup(o, p) == v)
    return lambda obj: all(p(obj) for p in preds)


def match_label_selector_object(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether ``labels`` match a structured LabelSelector (matchLabels + matchExpressions).

    An empty or missing selector matches everything, as Kubernetes' aggregation rules use it.
    """
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
