"""List requests: the ``filter`` predicate JSON, ``sort_by``, ``page_size`` and ``page_token``.

The SDK sends a JSON-serialised ``Filter`` message, e.g.
``{"predicates": [{"operation": 1, "key": "display_name", "stringValue": "x"}]}``. protojson lets
an enum be a number or its name and a field be camelCase or snake_case, so both are accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Callable

from .errors import invalid

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200

#: operation numbers as in KFP's filter.proto
OPERATIONS = {
    0: "OPERATION_UNSPECIFIED", 1: "EQUALS", 2: "NOT_EQUALS", 3: "GREATER_THAN",
    5: "GREATER_THAN_EQUALS", 6: "LESS_THAN", 7: "LESS_THAN_EQUALS", 8: "IN", 9: "IS_SUBSTRING",
}

_VALUE_FIELDS = ("string_value", "int_value", "long_value", "timestamp_value",
                 "string_values", "int_values", "long_values")


def _snake(name: str) -> str:
    """camelCase -> snake_case (protojson accepts both spellings)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _timestamp(value: Any) -> float:
    """An RFC 3339 string or epoch seconds as epoch seconds, for comparisons."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(f"'{text}' is not an RFC 3339 timestamp") from None


def parse_filter(raw: str | None) -> list[tuple[str, str, Any, bool]]:
    """Parse a filter into ``(key, operation, value, is_timestamp)`` tuples."""
    if not raw:
        return []
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise invalid(f"the filter is not valid JSON ({exc}); send a JSON-serialised Filter "
                      'such as {"predicates": [{"operation": "EQUALS", "key": "display_name", '
                      '"string_value": "name"}]}') from None
    if not isinstance(doc, dict):
        raise invalid("the filter must be a JSON object with a 'predicates' list")
    result = []
    for pred in doc.get("predicates") or []:
        if not isinstance(pred, dict):
            raise invalid("each filter predicate must be a JSON object")
        pred = {_snake(k): v for k, v in pred.items()}
        op = pred.get("operation", pred.get("op"))
        if isinstance(op, int) or (isinstance(op, str) and op.isdigit()):
            op = OPERATIONS.get(int(op))
        if op not in OPERATIONS.values() or op == "OPERATION_UNSPECIFIED":
            raise invalid(f"unknown filter operation {pred.get('operation')!r}; use one of "
                          f"{', '.join(v for v in OPERATIONS.values() if v[0] != 'O')}")
        key = pred.get("key")
        if not key:
            raise invalid("a filter predicate has no 'key'")
        present = [f for f in _VALUE_FIELDS if f in pred]
        if len(present) != 1:
            raise invalid(f"filter predicate on '{key}' needs exactly one value field")
        field = present[0]
        value = pred[field]
        if field.endswith("_values"):
            value = list((value or {}).get("values") or []) if isinstance(value, dict) else value
            if op != "IN":
                raise invalid(f"a list value on '{key}' needs the IN operation")
        elif op == "IN":
            raise invalid(f"IN on '{key}' needs a list value (string_values)")
        if field in ("int_value", "long_value"):
            value = int(value)
        result.append((key, op, value, field == "timestamp_value"))
    return result


def _matches(item_value: Any, op: str, value: Any, is_ts: bool) -> bool:
    """Whether one predicate holds for one item's field value."""
    if is_ts or (isinstance(item_value, str) and op in ("GREATER_THAN", "GREATER_THAN_EQUALS",
                                                         "LESS_THAN", "LESS_THAN_EQUALS")
                 and item_value[:4].isdigit() and "T" in item_value):
        item_value, value = _timestamp(item_value), _timestamp(value)
    if op == "EQUALS":
        return str(item_value) == str(value)
    if op == "NOT_EQUALS":
        return str(item_value) != str(value)
    if op == "IN":
        return str(item_value) in [str(v) for v in value]
    if op == "IS_SUBSTRING":
        return str(value) in str(item_value)
    try:
        a, b = (float(item_value), float(value)) if not isinstance(item_value, str) else (
            item_value, str(value))
    except (TypeError, ValueError):
        a, b = str(item_value), str(value)
    return {"GREATER_THAN": a > b, "GREATER_THAN_EQUALS": a >= b, "LESS_THAN": a < b,
            "LESS_THAN_EQUALS": a <= b}[op]


def _encode_token(offset: int) -> str:
    """An opaque page token for ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    """The offset a page token stands for; InvalidArgument on garbage."""
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid("the page_token is not one this server issued; start again without "
                      "page_token") from None
    if offset < 0:
        raise invalid("the page_token is not one this server issued")
    return offset


def paginate(items: list[dict], query: dict[str, str], field_of: Callable[[dict, str], Any],
             default_sort: str = "created_at") -> tuple[list[dict], int, str]:
    """Filter, sort and page ``items``; return ``(page, total_size, next_page_token)``.

    ``field_of(item, key)`` returns the item's value for a filter or sort key, or raises
    KeyError for a key the resource does not have.
    """
    predicates = parse_filter(query.get("filter"))
    selected = []
    for item in items:
        keep = True
        for key, op, value, is_ts in predicates:
            try:
                item_value = field_of(item, key)
            except KeyError:
                raise invalid(f"cannot filter on unknown key '{key}'") from None
            if not _matches(item_value, op, value, is_ts):
                keep = False
                break
        if keep:
            selected.append(item)

    sort_by = (query.get("sort_by") or default_sort).strip()
    parts = sort_by.split()
    if len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise invalid(f"sort_by '{sort_by}' must be 'FIELD' or 'FIELD asc|desc'")
    key, desc = parts[0], len(parts) == 2 and parts[1].lower() == "desc"
    try:
        selected.sort(key=lambda it: (str(field_of(it, key)), str(field_of(it, "id"))),
                      reverse=desc)
    except KeyError:
        raise invalid(f"cannot sort on unknown field '{key}'") from None

    raw_size = query.get("page_size") or "0"
    try:
        size = int(raw_size)
    except ValueError:
        raise invalid(f"page_size '{raw_size}' is not a number") from None
    if size < 0:
        raise invalid("page_size cannot be negative")
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = _decode_token(query["page_token"]) if query.get("page_token") else 0
    page = selected[offset:offset + size]
    next_token = _encode_token(offset + size) if offset + size < len(selected) else ""
    return page, len(selected), next_token
