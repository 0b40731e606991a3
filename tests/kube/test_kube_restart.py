"""Persistence: a stop+start, and a SIGKILL+start, keep every object, its uid, and the
resourceVersion keeps growing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kubernetes import client

from kube_helpers import PROFILE, start_cluster


def _client(url: str, token: str):
    """A python ApiClient for a URL and token."""
    cfg = client.Configuration()
    cfg.host = url
    cfg.api_key = {"authorization": token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(cfg)


def test_stop_start_keeps_objects_uids_and_versions(tmp_path):
    """Stop start keeps objects uids and versions."""
    from wizard.sandbox.kube import KubeApiServer

    cluster = start_cluster(tmp_path)
    core = client.CoreV1Api(cluster.client())
    cm = core.create_namespaced_config_map(PROFILE, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="keep-me"), data={"a": "1"}))
    tj = client.CustomObjectsApi(cluster.client()).list_namespaced_custom_object(
        "sagemaker.services.k8s.aws", "v1alpha1", PROFILE, "trainingjobs")
    ns_uid = core.read_namespace(PROFILE).metadata.uid
    token = core.create_namespaced_service_account_token(
        "default-editor", PROFILE, {"spec": {"expirationSeconds": 3600}}).status.token
    cluster.server.stop()

    again = KubeApiServer(tmp_path / "data").start()
    try:
        assert again.admin_token == cluster.token
        core2 = client.CoreV1Api(_client(again.url, again.admin_token))
        kept = core2.read_namespaced_config_map("keep-me", PROFILE)
        assert kept.metadata.uid == cm.metadata.uid and kept.data == {"a": "1"}
        assert core2.read_namespace(PROFILE).metadata.uid == ns_uid
        assert client.CustomObjectsApi(_client(again.url, again.admin_token)) \
            .list_namespaced_custom_object("sagemaker.services.k8s.aws", "v1alpha1", PROFILE,
                                           "trainingjobs")["items"] == tj["items"]
        newer = core2.create_namespaced_config_map(PROFILE, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="after")))
        assert int(newer.metadata.resource_version) > int(kept.metadata.resource_version)
        # the service-account token minted before the restart still authenticates
        mine = client.CoreV1Api(_client(again.url, token))
        assert mine.read_namespaced_config_map("keep-me", PROFILE).metadata.uid == cm.metadata.uid
    finally:
        again.stop()


def _spawn(data: Path) -> tuple[subprocess.Popen, dict]:
    """Run the server as its own process; returns it and its printed url/token."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-m", "wizard.sandbox.kube.server", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"server process did not start: {proc.stderr.read()}")
    return proc, json.loads(line)


def test_sigkill_loses_nothing_settled(tmp_path):
    """Sigkill loses nothing settled."""
    proc, info = _spawn(tmp_path)
    try:
        core = client.CoreV1Api(_client(info["url"], info["token"]))
        made = [core.create_namespaced_secret("default", client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"s-{n}"), string_data={"n": str(n)}))
            for n in range(20)]
        core.delete_namespaced_secret("s-0", "default")
        last_rv = int(core.list_namespaced_secret("default").metadata.resource_version)
        # settled means written: the store writes its meta file (the last resourceVersion)
        # after the objects of a flush, so wait on it, not on the flush window's length
        meta = tmp_path / "store-meta.json"
        deadline = time.monotonic() + 60
        while not (meta.exists() and json.loads(meta.read_text() or "{}").get("rv", 0) >= last_rv):
            assert time.monotonic() < deadline, "the store never wrote its last change"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    proc, info = _spawn(tmp_path)
    try:
        core = client.CoreV1Api(_client(info["url"], info["token"]))
        kept = {s.metadata.name: s.metadata.uid for s in
                core.list_namespaced_secret("default").items}
        assert kept == {m.metadata.name: m.metadata.uid for m in made[1:]}
        fresh = core.create_namespaced_secret("default", client.V1Secret(
            metadata=client.V1ObjectMeta(name="fresh")))
        assert int(fresh.metadata.resource_version) > last_rv
        leftovers = [p for p in tmp_path.rglob("*.tmp")]
        assert leftovers == []
    finally:
        proc.terminate()
        proc.wait(10)
