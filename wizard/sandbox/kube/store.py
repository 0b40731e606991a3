"""The object store behind the API server: one global resourceVersion, watch events, disk.

Objects are plain dicts keyed by storage key ``(group, plural)`` and ``(namespace, name)``. A
stored dict is never mutated: every change stores a new dict, so watch events can hold the
object they announce. Changes are written to ``data_dir/objects/...`` one file per object,
atomically (temp file + rename) by a flusher thread a few milliseconds after they happen, so a
SIGKILL loses at most that window and never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

StoreKey = tuple[str, str]
ObjKey = tuple[str, str]

#: how long the flusher gathers changes before writing them (the SIGKILL loss window)
FLUSH_DELAY = 0.02
#: how many recent changes a watch can resume from
EVENT_WINDOW = 20000


@dataclass(frozen=True)
class Change:
    """One change as watches see it."""

    rv: int
    type: str  # ADDED, MODIFIED or DELETED
    skey: StoreKey
    obj: dict[str, Any]
    #: the version before this change (None for ADDED), so watches can tell when an object
    #: leaves or enters their selector
    prev: dict[str, Any] | None = None


def _rv_of(obj: dict[str, Any]) -> int:
    """An object's resourceVersion as an integer (0 when unset or odd)."""
    try:
        return int(obj["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return 0


class Store:
    """Thread-safe object store with change history, watch wake-ups and durable files."""

    def __init__(self, data_dir: Path):
        """Set up the instance (see the class docstring)."""
        self.root = Path(data_dir) / "objects"
        self.meta_path = Path(data_dir) / "store-meta.json"
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[StoreKey, dict[ObjKey, dict[str, Any]]] = {}
        self._history: deque[Change] = deque(maxlen=EVENT_WINDOW)
        self._dirty: dict[tuple[StoreKey, ObjKey], dict[str, Any] | None] = {}
        self._flush_wake = threading.Condition(threading.Lock())
        #: one writer at a time, so two flushes never write one object's versions out of order
        self._write_lock = threading.Lock()
        self._stopping = False
        self.rv = 0
        self._load()
        #: the oldest resourceVersion a watch may resume after without missing changes
        self.window_start = self.rv
        self._flusher = threading.Thread(target=self._flush_loop, name="kube-store-flush",
                                         daemon=True)
        self._flusher.start()

    # -- reading ----------------------------------------------------------------------------
    def get(self, skey: StoreKey, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object or None (do not mutate it)."""
        with self.lock:
            return self._objects.get(skey, {}).get((namespace, name))

    def list(self, skey: StoreKey, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of a kind, optionally in one namespace, sorted by namespace and name."""
        with self.lock:
            items = self._objects.get(skey, {})
            keys = sorted(k for k in items if namespace is None or k[0] == namespace)
            return [items[k] for k in keys]

    def all_objects(self) -> Iterator[tuple[StoreKey, dict[str, Any]]]:
        """Every stored object with its storage key (a snapshot)."""
        with self.lock:
            snapshot = [(skey, obj) for skey, items in self._objects.items()
                        for obj in items.values()]
        return iter(snapshot)

    # -- writing ----------------------------------------------------------------------------
    def next_rv(self) -> str:
        """Take the next resourceVersion (callers hold ``lock`` across take and put)."""
        with self.lock:
            self.rv += 1
            return str(self.rv)

    def put(self, skey: StoreKey, obj: dict[str, Any], event: str) -> dict[str, Any]:
        """Store ``obj`` (its metadata already carries a fresh resourceVersion) and announce it."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            bucket = self._objects.setdefault(skey, {})
            prev = bucket.get(key)
            bucket[key] = obj
            self._record(Change(_rv_of(obj), event, skey, obj, prev), (skey, key), obj)
        return obj

    def remove(self, skey: StoreKey, obj: dict[str, Any]) -> dict[str, Any]:
        """Delete an object; the DELETED event carries a fresh resourceVersion."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            self._objects.get(skey, {}).pop(key, None)
            gone = dict(obj)
            gone["metadata"] = dict(meta, resourceVersion=self.next_rv())
            self._record(Change(_rv_of(gone), "DELETED", skey, gone), (skey, key), None)
        return gone

    def _record(self, change: Change, dkey, obj: dict[str, Any] | None) -> None:
        """Append to the history, wake watchers and schedule the disk write (lock held)."""
        self._history.append(change)
        if len(self._history) == self._history.maxlen:
            self.window_start = self._history[0].rv - 1
        self.changed.notify_all()
        with self._flush_wake:
            self._dirty[dkey] = obj
            self._flush_wake.notify()

    # -- watching ---------------------------------------------------------------------------
    def changes_after(self, rv: int) -> list[Change]:
        """Changes newer than ``rv`` (lock held by caller or not; the list is a copy)."""
        with self.lock:
            newer: list[Change] = []
            # walk back from the newest: a caught-up watch looks at only what is new
            for change in reversed(self._history):
                if change.rv <= rv:
                    break
                newer.append(change)
            newer.reverse()
            return newer

    def wait_for_change(self, rv: int, timeout: float) -> None:
        """Block until something newer than ``rv`` happens, or ``timeout`` passes."""
        with self.changed:
            if self.rv <= rv:
                self.changed.wait(timeout)

    def wake_all(self) -> None:
        """Wake every waiting watch (used at shutdown)."""
        with self.changed:
            self.changed.notify_all()

    # -- disk -------------------------------------------------------------------------------
    def _path(self, skey: StoreKey, key: ObjKey) -> Path:
        """Where one object lives on disk."""
        group, plural = skey
        ns, name = key
        return self.root / (group or "core") / plural / (ns or "_cluster") / f"{name}.json"

    def _load(self) -> None:
        """Read every object file; skip leftovers of interrupted writes."""
        try:
            self.rv = int(json.loads(self.meta_path.read_text())["rv"])
        except (OSError, ValueError, KeyError, TypeError):
            self.rv = 0
        if not self.root.exists():
            return
        for path in self.root.glob("*/*/*/*.json"):
            try:
                obj = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            group_dir, plural = path.parts[-4], path.parts[-3]
            skey = ("" if group_dir == "core" else group_dir, plural)
            meta = obj.get("metadata") or {}
            self._objects.setdefault(skey, {})[(meta.get("namespace", ""), meta.get("name"))] = obj
            self.rv = max(self.rv, _rv_of(obj))

    def _flush_loop(self) -> None:
        """Write dirty objects shortly after they change, until :meth:`close`."""
        while True:
            with self._flush_wake:
                while not self._dirty and not self._stopping:
                    self._flush_wake.wait()
                if self._stopping and not self._dirty:
                    return
            time.sleep(FLUSH_DELAY)
            self.flush()

    def flush(self) -> None:
        """Write every pending change now, then the counter."""
        with self._write_lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        """Body of :meth:`flush`, run under the write lock."""
        # the counter written below must be the one these changes reached: read after the
        # writes, it could count a change recorded meanwhile (a delete whose file is still
        # there), and a restart would take that change as settled and bring the object back
        with self.lock:
            with self._flush_wake:
                dirty, self._dirty = self._dirty, {}
            rv = self.rv
        if not dirty:
            return
        for (skey, key), obj in dirty.items():
            path = self._path(skey, key)
            if obj is None:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                continue
            _atomic_write(path, json.dumps(obj, separators=(",", ":")))
        _atomic_write(self.meta_path, json.dumps({"rv": rv}))

    def close(self) -> None:
        """Flush and stop the flusher thread."""
        with self._flush_wake:
            self._stopping = True
            self._flush_wake.notify()
        self._flusher.join(timeout=5)
        self.flush()


def _atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
