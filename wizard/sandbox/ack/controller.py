"""The sandbox's ACK SageMaker controller: watches the custom resources and reconciles them.

Threads:

* one *watcher* per kind lists the resources, then follows a watch from the list's
  resourceVersion; every event queues the resource. When a watch ends or fails it lists again,
  so nothing is missed; if the server cannot watch, listing every ``poll_seconds`` still works.
* a few *workers* take due resources from a delay queue and run one
  :class:`~wizard.sandbox.ack.reconcile.Reconciler` pass each. A resource is never worked on by
  two workers at once. Jobs in progress come back every ``poll_seconds``; failures come back
  with exponential backoff up to ``max_backoff`` seconds.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from pathlib import Path
from typing import Any

from wizard.sandbox.ack.names import kind_plural
from wizard.sandbox.ack.reconcile import Reconciler
from wizard.sandbox.ack.resources import GROUP, LAB_KINDS, VERSION, info

log = logging.getLogger("wizard.sandbox.ack")

Key = tuple[str, str, str]  # (kind, namespace, name)
#: first retry after a write conflict (HTTP 409), doubling while it repeats
CONFLICT_RETRY_SECONDS = 0.02


class _DelayQueue:
    """Keys due at a time; a key is held at most once (the earliest due time wins)."""

    def __init__(self) -> None:
        """An empty queue."""
        self._heap: list[tuple[float, int, Key]] = []
        self._due: dict[Key, float] = {}
        self._busy: set[Key] = set()
        self._again: dict[Key, float] = {}
        self._seq = itertools.count()
        self._cv = threading.Condition()

    def add(self, key: Key, delay: float = 0.0) -> None:
        """Queue ``key`` to run after ``delay`` seconds (sooner if already queued sooner)."""
        due = time.monotonic() + max(0.0, delay)
        with self._cv:
            if key in self._busy:
                # being worked on: run again after it finishes, so no change is lost
                self._again[key] = min(self._again.get(key, due), due)
                return
            if key in self._due and self._due[key] <= due:
                return
            self._due[key] = due
            heapq.heappush(self._heap, (due, next(self._seq), key))
            self._cv.notify()

    def take(self, stop: threading.Event, timeout: float = 0.5) -> Key | None:
        """The next due key (marked busy), or None after ``timeout`` or when stopping."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while not stop.is_set():
                now = time.monotonic()
                while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
                    heapq.heappop(self._heap)  # superseded by an earlier due time
                if self._heap and self._heap[0][0] <= now:
                    _, _, key = heapq.heappop(self._heap)
                    del self._due[key]
                    self._busy.add(key)
                    return key
                wait = deadline - now
                if self._heap:
                    wait = min(wait, self._heap[0][0] - now)
                if deadline <= now:
                    return None
                self._cv.wait(max(0.01, wait))
        return None

    def done(self, key: Key, requeue: float | None) -> None:
        """Finish ``key``; queue it again after ``requeue`` seconds, or sooner if an event asked."""
        with self._cv:
            self._busy.discard(key)
            again = self._again.pop(key, None)
        if again is not None:
            self.add(key, max(0.0, again - time.monotonic()))
        if requeue is not None:
            self.add(key, requeue)


class AckController:
    """An ACK-like SageMaker controller for the sandbox.

    ``kubeconfig`` says how to reach the cluster; SageMaker is called through boto3 at
    ``aws_url`` in ``region`` (or in the region a resource's ``services.k8s.aws/region``
    annotation names) with the controller's own credentials (the moto test ones by
    default). ``namespace`` limits it to one namespace (None: all). Resources in progress are
    checked every ``poll_seconds``; failed calls are retried with backoff up to ``max_backoff``;
    every ``resync_seconds`` all resources are checked again even if unchanged. ``start()``
    returns at once; ``stop()`` ends every thread.
    """

    def __init__(self, kubeconfig: Path, aws_url: str, region: str, account_id: str,
                 namespace: str | None = None, poll_seconds: float = 2.0, *,
                 kinds: tuple[str, ...] = LAB_KINDS, workers: int = 2,
                 max_backoff: float = 60.0, resync_seconds: float = 60.0,
                 access_key_id: str = "testing", secret_access_key: str = "testing"):
        """Check the arguments; nothing connects until :meth:`start`."""
        for kind in kinds:
            info(kind)  # a ValueError names the kinds that are managed
        if poll_seconds <= 0:
            raise ValueError("poll_seconds must be above 0 (it is how often jobs are checked)")
        self.kubeconfig = Path(kubeconfig)
        self.aws_url = aws_url
        self.region = region
        self.account_id = account_id
        self.namespace = namespace
        self.poll_seconds = poll_seconds
        self.kinds = tuple(kinds)
        self.workers = max(1, workers)
        self.max_backoff = max_backoff
        self.resync_seconds = resync_seconds
        self._credentials = (access_key_id, secret_access_key)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue = _DelayQueue()
        self._failures: dict[Key, int] = {}
        # resourceVersion last queued per key, so a re-list only queues what changed
        self._seen: dict[Key, str] = {}
        self._seen_lock = threading.Lock()
        self._reconciler: Reconciler | None = None
        self._api: Any = None
        #: passes run, for tests and benchmarks
        self.passes = 0

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> "AckController":
        """Connect to Kubernetes and SageMaker and start the threads; returns self."""
        if self._threads:
            raise RuntimeError("the controller is already running; stop() it first")
        if not self.kubeconfig.is_file():
            raise FileNotFoundError(
                f"kubeconfig {self.kubeconfig} does not exist; start the sandbox's Kubernetes "
                "API server and write its kubeconfig first"
            )
        import boto3
        from botocore.config import Config
        from kubernetes import client, config

        api_client = config.new_client_from_config(config_file=str(self.kubeconfig))
        self._api = client.CustomObjectsApi(api_client)
        clients: dict[str, Any] = {}
        clients_lock = threading.Lock()

        def sagemaker(region: str) -> Any:
            """The SageMaker client for one region (a resource's region annotation picks it),
            built once; the request is signed for that region, as real ACK's is."""
            with clients_lock:
                if region not in clients:
                    clients[region] = boto3.client(
                        "sagemaker", endpoint_url=self.aws_url, region_name=region,
                        aws_access_key_id=self._credentials[0],
                        aws_secret_access_key=self._credentials[1],
                        # the controller has its own backoff; botocore's short retries absorb
                        # blips
                        config=Config(retries={"max_attempts": 2, "mode": "standard"},
                                      connect_timeout=5, read_timeout=30),
                    )
                return clients[region]

        self._reconciler = Reconciler(self._api, sagemaker, self.region, self.account_id,
                                      self.poll_seconds)
        # building the first client reads botocore's SageMaker model (a quarter of a second);
        # do it now, not when the lab's first resource arrives and waits for it
        threading.Thread(target=sagemaker, args=(self.region,), daemon=True,
                         name="ack-client-warm-up").start()
        self._stop.clear()
        for kind in self.kinds:
            self._spawn(f"ack-watch-{kind}", self._watch_loop, kind)
        for n in range(self.workers):
            self._spawn(f"ack-worker-{n}", self._work_loop)
        log.info("ACK controller started for %s in %s", ", ".join(self.kinds),
                 self.namespace or "all namespaces")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every thread (waits up to ``timeout`` seconds in all)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self._threads = []
        log.info("ACK controller stopped")

    def __enter__(self) -> "AckController":
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving it."""
        self.stop()

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        """Start a daemon thread (a stuck call must never keep the process alive)."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- watching -----------------------------------------------------------------------

    def _list(self, kind: str) -> dict:
        """List the kind's resources in the namespace (or cluster-wide)."""
        plural = kind_plural(kind)
        if self.namespace:
            return self._api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)
        return self._api.list_cluster_custom_object(GROUP, VERSION, plural)

    def _enqueue(self, kind: str, obj: dict, force: bool = True) -> None:
        """Queue one listed or watched object (a listed one only if it changed, unless
        ``force``)."""
        meta = obj.get("metadata") or {}
        if not (meta.get("name") and meta.get("namespace")):
            return  # a bookmark or a malformed event
        key = (kind, meta["namespace"], meta["name"])
        version = str(meta.get("resourceVersion", ""))
        with self._seen_lock:
            changed = self._seen.get(key) != version
            self._seen[key] = version
        if force or changed:
            self._queue.add(key)

    def _watch_loop(self, kind: str) -> None:
        """List, then watch from the list's resourceVersion; on any failure list again."""
        from kubernetes import watch

        failures = 0
        last_resync = float("-inf")
        while not self._stop.is_set():
            try:
                listing = self._list(kind)
                # every resync_seconds all resources are looked at again (changes made to
                # SageMaker behind the controller's back); otherwise only what changed
                resync = time.monotonic() - last_resync >= self.resync_seconds
                if resync:
                    last_resync = time.monotonic()
                for obj in listing.get("items") or []:
                    self._enqueue(kind, obj, force=resync)
                version = (listing.get("metadata") or {}).get("resourceVersion")
                failures = 0
                plural = kind_plural(kind)
                args: tuple = (GROUP, VERSION, self.namespace, plural) if self.namespace else (
                    GROUP, VERSION, plural)
                func = (self._api.list_namespaced_custom_object if self.namespace
                        else self._api.list_cluster_custom_object)
                stream = watch.Watch()
                # a short server-side timeout keeps stop() prompt (a blocked read cannot be
                # interrupted) and re-lists regularly, which is cheap: only changes are queued
                wait = int(min(5, max(1, self.poll_seconds * 5)))
                for event in stream.stream(func, *args, resource_version=version,
                                           timeout_seconds=wait, _request_timeout=wait + 10):
                    if self._stop.is_set():
                        stream.stop()
                        break
                    obj = event.get("object")
                    if event.get("type") == "ERROR" or not isinstance(obj, dict):
                        break  # e.g. 410 Gone: the version is too old, list again
                    self._enqueue(kind, obj)
                    if event.get("type") == "DELETED":
                        meta = obj.get("metadata") or {}
                        with self._seen_lock:
                            self._seen.pop((kind, meta.get("namespace"), meta.get("name")), None)
            except Exception as exc:  # the server restarting, a CRD not installed yet...
                failures += 1
                delay = min(self.max_backoff, self.poll_seconds * (2 ** min(failures, 6)))
                log.warning("ACK watch of %s failed (%s); listing again in %.1fs", kind,
                            _short(exc), delay)
                self._stop.wait(delay)

    # -- working ------------------------------------------------------------------------

    def _work_loop(self) -> None:
        """Run reconcile passes on due keys until stopped."""
        while not self._stop.is_set():
            key = self._queue.take(self._stop)
            if key is None:
                continue
            requeue: float | None = None
            try:
                outcome = self._reconciler.reconcile(*key)
                self.passes += 1
                if outcome.backoff:
                    requeue = self._backoff(key)
                else:
                    self._failures.pop(key, None)
                    requeue = outcome.requeue
            except Exception as exc:  # a Kubernetes conflict or outage: retry, never crash
                if getattr(exc, "status", None) == 409:
                    # the resource changed since this pass read it (a finalizer, a status
                    # written meanwhile): controller-runtime retries such an error through a
                    # rate limiter that starts at milliseconds, not at the poll interval
                    log.info("ACK %s %s/%s: conflict (%s); retrying", *key, _short(exc))
                    requeue = self._backoff(key, CONFLICT_RETRY_SECONDS)
                else:
                    log.warning("ACK %s %s/%s: pass failed (%s); will retry", *key, _short(exc))
                    requeue = self._backoff(key)
            finally:
                self._queue.done(key, requeue)

    def _backoff(self, key: Key, base: float | None = None) -> float:
        """The next retry delay for ``key``: doubling from ``base`` (poll_seconds) up to
        max_backoff."""
        n = self._failures.get(key, 0) + 1
        self._failures[key] = n
        return min(self.max_backoff, (base or self.poll_seconds) * (2 ** (n - 1)))


def _short(exc: BaseException) -> str:
    """A one-line description of an error for the log."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
