"""Watch streams: ``?watch=1`` on a list path, answered as JSON lines over a chunked response.

A watch starts with synthetic ADDED events for every current match (no ``resourceVersion``,
``"0"``, or ``sendInitialEvents=true``), or resumes after the given ``resourceVersion`` from the
store's change history (an ``ERROR`` event with a 410 ``Expired`` Status when that version is
older than the history, as the real server says "too old resource version"). Objects moving
out of a selector are sent as DELETED and into it as ADDED. The stream ends cleanly at
``timeoutSeconds`` (with a BOOKMARK first when ``allowWatchBookmarks=true``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator

from . import errors, tables
from .resources import ResourceType

if TYPE_CHECKING:
    from .api import KubeApi

#: longest a watch waits between checks of its deadline and of server shutdown
POLL = 0.5


def _line(event_type: str, obj: dict[str, Any]) -> bytes:
    """One watch event as a JSON line."""
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def watch_events(api: "KubeApi", t: ResourceType, ns: str | None, query: dict[str, str],
                 as_table: bool) -> Iterator[bytes]:
    """Validate the watch request now (errors become a normal Status), then stream lazily."""
    from .api import default_watch_timeout

    rv_param = query.get("resourceVersion", "")
    try:
        since = int(rv_param) if rv_param not in ("", "0") else None
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else \
            default_watch_timeout()
    except ValueError:
        raise errors.bad_request("resourceVersion and timeoutSeconds must be numbers") from None
    match = api.crud.select(t, ns, query)
    return _stream(api, t, ns, match, since, timeout, query, as_table)


def _stream(api: "KubeApi", t: ResourceType, ns: str | None, match, since: int | None,
            timeout: float, query: dict[str, str], as_table: bool) -> Iterator[bytes]:
    """The generator behind a watch response."""
    from .api import monotonic

    store, crud = api.store, api.crud
    bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
    initial = query.get("sendInitialEvents") == "true"
    include = query.get("includeObject", "Metadata")
    first_table = [True]

    def render(obj: dict[str, Any]) -> dict[str, Any]:
        """The object as the client asked to see it (a one-row Table or the object)."""
        shown = crud.present(t, obj)
        if not as_table:
            return shown
        doc = tables.table(t, [dict(shown, apiVersion=t.api_version, kind=t.kind)],
                           shown["metadata"].get("resourceVersion", ""), include)
        if not first_table[0]:
            doc["columnDefinitions"] = []
        first_table[0] = False
        return doc

    def visible(obj: dict[str, Any] | None) -> bool:
        """Whether an object is in this watch's namespace and selectors."""
        if obj is None:
            return False
        if ns is not None and obj["metadata"].get("namespace") != ns:
            return False
        return match(crud.present(t, obj))

    with store.lock:
        if since is not None and since < store.window_start:
            expired = errors.ApiError(410, f"too old resource version: {since} "
                                           f"({store.window_start + 1})", "Expired")
            yield _line("ERROR", expired.status())
            return
        snapshot = [] if since is not None and not initial else \
            [o for o in store.list(t.store_key, ns) if visible(o)]
        cursor = since if since is not None else store.rv
    for obj in snapshot:
        yield _line("ADDED", render(obj))
    if initial and bookmarks:
        yield _line("BOOKMARK", {"kind": t.kind, "apiVersion": t.api_version, "metadata": {
            "resourceVersion": str(cursor),
            "annotations": {"k8s.io/initial-events-end": "true"}}})
    deadline = monotonic() + timeout
    while not api.stopping:
        changes = store.changes_after(cursor)
        for change in changes:
            cursor = change.rv
            if change.skey != t.store_key:
                continue
            now_in, was_in = visible(change.obj), visible(change.prev)
            if change.type == "DELETED":
                if now_in or was_in:
                    yield _line("DELETED", render(change.obj))
            elif now_in:
                yield _line("ADDED" if change.type == "ADDED" or not was_in else "MODIFIED",
                            render(change.obj))
            elif was_in:
                yield _line("DELETED", render(change.obj))
        left = deadline - monotonic()
        if left <= 0:
            break
        if not changes:
            store.wait_for_change(cursor, min(left, POLL))
    if bookmarks and not api.stopping:
        yield _line("BOOKMARK", {"kind": t.kind, "apiVersion": t.api_version,
                                 "metadata": {"resourceVersion": str(max(cursor, store.rv))}})
