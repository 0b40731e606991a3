"""Many clients and watches at once: every watcher sees every change, in order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client, watch


def test_parallel_writers_and_watchers(cluster):
    """Eight writers and four watchers share the server; nothing is lost or reordered."""
    core = client.CoreV1Api(cluster.client())
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="busy")))
    rv = core.list_namespaced_config_map("busy").metadata.resource_version
    writers, per_writer = 8, 10
    total = writers * per_writer
    seen: list[list[tuple[str, int]]] = [[] for _ in range(4)]
    ready = threading.Barrier(5)

    def watcher(slot: int) -> None:
        """Record every ADDED until all writers' objects have arrived."""
        api = client.CoreV1Api(cluster.client())
        w = watch.Watch()
        stream = w.stream(api.list_namespaced_config_map, "busy", resource_version=rv,
                          timeout_seconds=30)
        ready.wait()
        for ev in stream:
            seen[slot].append((ev["object"].metadata.name,
                               int(ev["object"].metadata.resource_version)))
            if len(seen[slot]) == total:
                w.stop()

    def writer(n: int) -> None:
        """Create this writer's config maps."""
        api = client.CoreV1Api(cluster.client())
        for i in range(per_writer):
            api.create_namespaced_config_map("busy", client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=f"w{n}-{i}"), data={"i": str(i)}))

    threads = [threading.Thread(target=watcher, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    ready.wait(timeout=30)
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(writer, range(writers)))
    for t in threads:
        t.join(timeout=30)
    names = {f"w{n}-{i}" for n in range(writers) for i in range(per_writer)}
    for events in seen:
        assert {name for name, _ in events} == names
        versions = [v for _, v in events]
        assert versions == sorted(versions) and len(set(versions)) == total
    assert len(core.list_namespaced_config_map("busy").items) == total
