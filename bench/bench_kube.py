"""Benchmark the sandbox Kubernetes API server: kubectl and python-client round trips.

Prints one JSON line: median wall time of ``kubectl get`` (warm discovery cache), of kubectl's
own start-up (``kubectl version --client``, no server call) for comparison, of a python-client
GET, of a python-client LIST of TrainingJobs, and of a CR create. Targets (not asserted):
kubectl get <= 50 ms median.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ACK_CRDS = Path("/work/shared/ack-crds/v1.9.1")
PROFILE = "kubeflow-user-example-com"


def _median_ms(fn, n: int) -> float:
    """Median wall time of ``fn`` over ``n`` runs, in milliseconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def main() -> int:
    """Run the benchmark and print its JSON line."""
    from kubernetes import client

    from wizard.sandbox.kube import KubeApiServer, seed_kubeflow_cluster, write_kubeconfig

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        server = KubeApiServer(base / "data").start()
        start_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        seed_kubeflow_cluster(server, crds=[ACK_CRDS] if ACK_CRDS.exists() else [])
        seed_ms = (time.perf_counter() - t0) * 1000
        try:
            kubeconfig = write_kubeconfig(base / "kubeconfig", server.url, server.admin_token,
                                          namespace=PROFILE)
            env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(base))

            def kubectl(*args: str) -> None:
                """Run kubectl quietly with the benchmark's kubeconfig."""
                subprocess.run(["kubectl", *args], env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            t0 = time.perf_counter()
            kubectl("get", "pods")  # cold: fills the discovery cache
            cold_ms = (time.perf_counter() - t0) * 1000
            kubectl_get = _median_ms(lambda: kubectl("get", "pods"), 15)
            kubectl_get_cr = _median_ms(lambda: kubectl("get", "trainingjobs"), 15)
            kubectl_bare = _median_ms(lambda: kubectl("version", "--client"), 15)

            cfg = client.Configuration()
            cfg.host = server.url
            cfg.api_key = {"authorization": server.admin_token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
            api = client.ApiClient(cfg)
            core, co = client.CoreV1Api(api), client.CustomObjectsApi(api)
            py_get = _median_ms(lambda: core.read_namespace(PROFILE), 200)
            py_list = _median_ms(lambda: co.list_namespaced_custom_object(
                "sagemaker.services.k8s.aws", "v1alpha1", PROFILE, "trainingjobs"), 100)
            counter = iter(range(10**6))

            def create() -> None:
                """Create one more Model custom resource."""
                n = next(counter)
                co.create_namespaced_custom_object(
                    "sagemaker.services.k8s.aws", "v1alpha1", PROFILE, "models", {
                        "apiVersion": "sagemaker.services.k8s.aws/v1alpha1", "kind": "Model",
                        "metadata": {"name": f"m-{n}"},
                        "spec": {"modelName": f"m-{n}", "executionRoleARN": "arn:aws:iam::1:r"}})
            py_create = _median_ms(create, 100)
        finally:
            server.stop()
    print(json.dumps({
        "bench": "kube", "server_start_ms": round(start_ms, 1), "seed_ms": round(seed_ms, 1),
        "kubectl_get_cold_ms": round(cold_ms, 1), "kubectl_get_median_ms": kubectl_get,
        "kubectl_get_cr_median_ms": kubectl_get_cr,
        "kubectl_client_only_median_ms": kubectl_bare,
        "kubectl_get_target_ms": 50, "pyclient_get_median_ms": py_get,
        "pyclient_list_cr_median_ms": py_list, "pyclient_create_cr_median_ms": py_create,
        "load_average_1m": os.getloadavg()[0],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
