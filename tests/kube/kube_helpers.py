"""Helpers for the sandbox Kubernetes API server tests: start a real server on loopback, seeded
with the real ACK v1.9.1 CRDs, with a python-client factory and a kubectl runner."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


ACK_CRDS = Path(__file__).resolve().parents[2].parent / "shared" / "ack-crds" / "v1.9.1"
PROFILE = "kubeflow-user-example-com"


@dataclass
class Cluster:
    """A running server and what clients need to reach it."""

    server: object
    url: str
    token: str
    kubeconfig: Path
    home: Path

    def client(self, token: str | None = None):
        """A kubernetes python ApiClient talking plain HTTP with a bearer token."""
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = self.url
        token = self.token if token is None else token
        if token:
            cfg.api_key = {"authorization": token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(cfg)

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True,
                kubeconfig: Path | None = None) -> subprocess.CompletedProcess:
        """Run the real kubectl against this server."""
        env = dict(os.environ, KUBECONFIG=str(kubeconfig or self.kubeconfig), HOME=str(self.home))
        proc = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def kubectl_json(self, *args: str) -> dict:
        """kubectl ... -o json, parsed."""
        return json.loads(self.kubectl(*args, "-o", "json").stdout)


def start_cluster(base: Path, seed: bool = True) -> Cluster:
    """Start, seed and describe a server under ``base``."""
    from wizard.sandbox.kube import KubeApiServer, seed_kubeflow_cluster, write_kubeconfig

    server = KubeApiServer(base / "data").start()
    if seed:
        seed_kubeflow_cluster(server, crds=[ACK_CRDS])
    kubeconfig = write_kubeconfig(base / "kubeconfig", server.url, server.admin_token,
                                  namespace=PROFILE)
    home = base / "home"
    home.mkdir(exist_ok=True)
    return Cluster(server, server.url, server.admin_token, kubeconfig, home)
