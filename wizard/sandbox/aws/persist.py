"""Keep moto's in-memory AWS state across daemon restarts.

moto holds every AWS object in plain Python objects inside per-service ``BackendDict``s. We
snapshot those with :mod:`pickle`, one file per service, shortly after each mutating request
(debounced) and at shutdown; at start-up the snapshots are loaded back into the very same
``BackendDict`` objects that moto's request handlers use. A SIGKILLed daemon therefore loses at
most the changes of the last debounce window.

Two things keep snapshots cheap:

* AWS managed IAM policies (about 1,600 of them when ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is on)
  are not written while nobody attached or changed them: the snapshot keeps only their ARN and
  id, and at load they come from a fresh backend with that id put back.
* Large byte strings (S3 object bodies) go to a content-addressed ``blobs/`` directory, written
  once, so a new snapshot of S3 does not rewrite every object.

Snapshots are taken under the exclusive side of a reader/writer gate that every request holds
shared, so moto never mutates a dict while it is being pickled.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BLOB_MIN = 256 * 1024  # byte strings at least this long are stored as blobs
SNAPSHOT_SUFFIX = ".pickle"


class RWGate:
    """A reader/writer lock: many requests at once, or one snapshot alone."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    def acquire_read(self) -> None:
        """Enter as a request; waits while a snapshot runs."""
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1

    def release_read(self) -> None:
        """Leave as a request."""
        with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    def acquire_write(self) -> None:
        """Enter as the snapshot; waits for running requests to finish and blocks new ones."""
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._writer = True
            while self._readers:
                self._cond.wait()

    def release_write(self) -> None:
        """Leave as the snapshot."""
        with self._cond:
            self._writer = False
            self._cond.notify_all()


def _fsync_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class _BlobRef:
    """Stands for the bytes of blob ``name`` inside a pickle (resolved at load)."""

    def __init__(self, name: str):
        self.name = name


def _rebuild_s3_key(cls: type, state: dict, value: bytes) -> Any:
    """Recreate a moto S3 key from its state and its body (moto's own ``__setstate__``)."""
    key = cls.__new__(cls)
    key.__setstate__({**state, "value": value})
    return key


class _SnapshotPickler(pickle.Pickler):
    """Pickler that swaps untouched AWS managed policies and big byte strings for references.

    S3 objects are written as their state plus a reference to a blob named by their ETag and
    size, so a body already on disk is neither read nor hashed again.
    """

    def __init__(self, fh: io.BytesIO, blob_dir: Path, refs: set[str]):
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._blob_dir = blob_dir
        self._refs = refs
        from moto.iam.models import AWSManagedPolicy
        from moto.s3.models import FakeKey

        self._aws_policy_cls = AWSManagedPolicy
        self._s3_key_cls = FakeKey

    def reducer_override(self, obj: Any) -> Any:
        """Pickle moto's S3 keys with their body in the blob store."""
        if type(obj) is not self._s3_key_cls or not getattr(obj, "_etag", None):
            return NotImplemented
        state = {k: v for k, v in obj.__dict__.items() if k not in ("_value_buffer", "lock")}
        name = f"s3-{obj._etag}-{obj.contentsize}"
        target = self._blob_dir / name
        if not target.exists():
            _fsync_write(target, obj.value)
        self._refs.add(name)
        return _rebuild_s3_key, (type(obj), state, _BlobRef(name))

    def persistent_id(self, obj: Any) -> Any:
        """Return a reference for objects kept outside the pickle, else None."""
        if type(obj) is _BlobRef:
            return ("blob", obj.name)
        if type(obj) is bytes and len(obj) >= BLOB_MIN:
            digest = hashlib.sha256(obj).hexdigest()
            target = self._blob_dir / digest
            if not target.exists():
                _fsync_write(target, obj)
            self._refs.add(digest)
            return ("blob", digest)
        if (
            type(obj) is self._aws_policy_cls
            and obj.attachment_count == 0
            and len(obj.versions) == 1
            and not obj.tags
        ):
            return ("awspolicy", obj.account_id, obj.partition, obj.arn, obj.id)
        return None


class _SnapshotUnpickler(pickle.Unpickler):
    """Unpickler that resolves the references :class:`_SnapshotPickler` wrote."""

    def __init__(self, fh: Any, blob_dir: Path):
        super().__init__(fh)
        self._blob_dir = blob_dir
        self._fresh_policies: dict[tuple[str, str], dict[str, Any]] = {}

    def _policies(self, account_id: str, partition: str) -> dict[str, Any]:
        key = (account_id, partition)
        if key not in self._fresh_policies:
            from moto.iam.models import IAMBackend

            # a throwaway backend is the cheapest way to get moto's parsed policy objects
            fresh = IAMBackend(region_name=partition, account_id=account_id)
            self._fresh_policies[key] = {p.arn: p for p in fresh.aws_managed_policies}
        return self._fresh_policies[key]

    def persistent_load(self, pid: Any) -> Any:
        """Turn a stored reference back into the object."""
        if pid[0] == "blob":
            return (self._blob_dir / pid[1]).read_bytes()
        if pid[0] == "awspolicy":
            _, account_id, partition, arn, policy_id = pid
            policy = self._policies(account_id, partition).get(arn)
            if policy is None:
                raise pickle.UnpicklingError(f"AWS managed policy {arn} is not known to moto")
            policy.id = policy_id
            return policy
        raise pickle.UnpicklingError(f"unknown persistent id {pid[0]!r}")


def _without_other_partitions(account_backend: Any) -> Any:
    """A shallow copy of an account's backends minus the non-``aws`` partitions."""
    copy = account_backend.__class__.__new__(account_backend.__class__)
    copy.__dict__.update(account_backend.__dict__)
    for region, backend in account_backend.items():
        if region.startswith("aws-"):
            continue
        dict.__setitem__(copy, region, backend)
    return copy


class MotoStore:
    """Snapshots and restores moto's backends under ``state_dir``.

    ``mark_dirty(service)`` after a mutating request; a background thread writes the changed
    services once requests pause for ``debounce`` seconds (or at most every ``max_delay``).
    """

    def __init__(self, state_dir: Path, debounce: float = 0.25, max_delay: float = 2.0):
        self.dir = Path(state_dir)
        self.blob_dir = self.dir / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.gate = RWGate()
        self._debounce = debounce
        self._max_delay = max_delay
        self._dirty: set[str] = set()
        self._all_dirty = False
        self._first_dirty_at: float | None = None
        self._last_dirty_at = 0.0
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.snapshots_written = 0
        self.last_error: str | None = None

    # -- restore -----------------------------------------------------------------------------
    def restore(self) -> list[str]:
        """Load every snapshot into moto's live backends; returns the services restored.

        A snapshot that cannot be read is kept aside (renamed ``.broken``) and reported in the
        log, so one bad file costs that service's state and not the start-up.
        """
        from moto.backends import get_backend

        restored = []
        for path in sorted(self.dir.glob(f"*{SNAPSHOT_SUFFIX}")):
            service = path.name[: -len(SNAPSHOT_SUFFIX)]
            try:
                with open(path, "rb") as fh:
                    loaded = _SnapshotUnpickler(fh, self.blob_dir).load()
                live = get_backend(service)  # type: ignore[call-overload]
                live.clear()
                for account_id, account_backend in loaded.items():
                    live[account_id] = account_backend
                from moto.core.base_backend import BackendDict

                if live not in BackendDict._instances:  # moto's list of backends in use
                    BackendDict._instances.append(live)
                restored.append(service)
            except Exception as exc:  # noqa: BLE001 - one bad snapshot must not stop the daemon
                log.error("could not restore %s from %s: %s; keeping it as .broken", service, path, exc)
                os.replace(path, path.with_suffix(".broken"))
        return restored

    # -- snapshot ----------------------------------------------------------------------------
    def mark_dirty(self, service: str | None) -> None:
        """Note that ``service`` changed (None: unknown service, snapshot them all)."""
        now = time.monotonic()
        with self._cond:
            if service is None:
                self._all_dirty = True
            else:
                self._dirty.add(service)
            if self._first_dirty_at is None:
                self._first_dirty_at = now
            self._last_dirty_at = now
            self._cond.notify_all()

    def _live_services(self) -> dict[str, Any]:
        from moto.core.base_backend import BackendDict

        return {b.service_name: b for b in list(BackendDict._instances) if len(b)}

    def snapshot(self, services: set[str] | None = None) -> list[str]:
        """Write the given services (None: every live one) now; returns those written."""
        live = self._live_services()
        if services is None or not services <= live.keys():
            # a signing name moto files under another service name: write them all to be safe
            wanted = live
        else:
            wanted = {s: live[s] for s in services}
        written = []
        self.gate.acquire_write()
        try:
            for service, backend_dict in wanted.items():
                refs: set[str] = set()
                buf = io.BytesIO()
                # global services keep one backend per partition; the sandbox is all in "aws",
                # and the others (aws-cn, aws-us-gov, ...) are recreated on demand
                data = {
                    account_id: _without_other_partitions(account_backend)
                    for account_id, account_backend in backend_dict.items()
                }
                try:
                    _SnapshotPickler(buf, self.blob_dir, refs).dump(data)
                except Exception as exc:  # noqa: BLE001 - an unpicklable service is skipped, loudly
                    self.last_error = f"{service}: {exc}"
                    log.warning("cannot snapshot moto service %s: %s", service, exc)
                    continue
                _fsync_write(self.dir / f"{service}{SNAPSHOT_SUFFIX}", buf.getvalue())
                _fsync_write(self.dir / f"{service}.refs.json", json.dumps(sorted(refs)).encode())
                written.append(service)
        finally:
            self.gate.release_write()
        self._collect_blobs()
        self.snapshots_written += 1
        return written

    def _collect_blobs(self) -> None:
        """Delete blobs no snapshot refers to any more."""
        keep: set[str] = set()
        for refs in self.dir.glob("*.refs.json"):
            try:
                keep.update(json.loads(refs.read_text()))
            except (OSError, ValueError):
                return  # unsure what is referenced: keep everything
        for blob in self.blob_dir.iterdir():
            if blob.name not in keep and not blob.name.endswith(".tmp"):
                blob.unlink(missing_ok=True)

    def _take_dirty(self) -> set[str] | None:
        services: set[str] | None = None if self._all_dirty else set(self._dirty)
        self._dirty.clear()
        self._all_dirty = False
        self._first_dirty_at = None
        return services

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._first_dirty_at is None:
                    self._cond.wait()
                if self._stop:
                    return
                # wait for a pause in changes, but never longer than max_delay in total
                while not self._stop:
                    now = time.monotonic()
                    quiet_at = self._last_dirty_at + self._debounce
                    latest = self._first_dirty_at + self._max_delay
                    due = min(quiet_at, latest)
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                services = self._take_dirty()
            try:
                self.snapshot(services)
            except Exception as exc:  # noqa: BLE001 - keep snapshotting later changes
                self.last_error = str(exc)
                log.exception("moto snapshot failed")

    def start(self) -> None:
        """Start the background snapshot thread."""
        self._thread = threading.Thread(target=self._run, name="moto-snapshot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write every live service one last time."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=30)
        self.snapshot(None)
