"""The store's counter on disk never runs ahead of its object files (what a restart trusts)."""

from __future__ import annotations

import json

from wizard.sandbox.kube import store as store_module
from wizard.sandbox.kube.store import Store

SECRETS = ("", "secrets")


def _secret(store: Store, name: str) -> dict:
    """A secret with a fresh resourceVersion, as the API server builds one."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "lab", "resourceVersion": store.next_rv()}}


def test_a_delete_recorded_during_a_flush_is_not_counted_as_written(tmp_path, monkeypatch):
    """A change recorded while a flush writes files belongs to the next flush: the counter
    this flush writes is the one its changes reached, so a restart right after it does not
    take the delete as settled while the object's file is still there."""
    store = Store(tmp_path)
    try:
        with store.lock:
            kept = store.put(SECRETS, _secret(store, "s-0"), "ADDED")
        store.flush()
        object_file = store._path(SECRETS, ("lab", "s-0"))
        assert object_file.exists()
        deleted: dict = {}
        checked: list = []
        real_write = store_module._atomic_write

        def write(path, text):
            """Write as the store does; delete s-0 while the first object is written, and
            check the counter against the files when it is written."""
            if path == store.meta_path:
                rv = json.loads(text)["rv"]
                checked.append(rv)
                assert not (deleted["rv"] <= rv and object_file.exists()), (
                    f"counter {rv} counts the delete (rv {deleted['rv']}) whose file is still there")
            elif not deleted:
                gone = store.remove(SECRETS, kept)
                deleted["rv"] = int(gone["metadata"]["resourceVersion"])
            real_write(path, text)

        monkeypatch.setattr(store_module, "_atomic_write", write)
        with store.lock:
            store.put(SECRETS, _secret(store, "s-1"), "ADDED")
        store.flush()
        assert checked and deleted
        store.flush()  # the delete's own flush removes the file, then counts it
        assert not object_file.exists()
        assert json.loads(store.meta_path.read_text())["rv"] >= deleted["rv"]
    finally:
        monkeypatch.undo()
        store.close()
