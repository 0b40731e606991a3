"""Benchmark the sandbox Kubernetes API server: kubectl and python-client round trips.

Prints one JSON line with medians of:

* the ``kubectl get`` round trip as kubectl itself times it (``-v=6`` logs each request as
  "GET <url> 200 OK in N milliseconds"): the figure the <= 50 ms target applies to;
* the whole ``kubectl get`` process (warm discovery cache), and kubectl's own start-up
  (``kubectl version --client``, no server call), to show what the process time is made of;
* a python-client GET, a python-client LIST of TrainingJobs, and a CR create.

Targets are reported, never asserted.
"""

from __future__ import annotations

import re
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
ACK_CRDS = ROOT.parent / "shared" / "ack-crds" / "v1.9.1"
#: kubectl -v=6 logs every API request with the time it took
ROUND_TRIP = re.compile(r"round_trippers\.go:\d+\] GET (\S+) (\d{3}) .* in (\d+) milliseconds")
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
            round_trips = []
            for _ in range(15):
                traced = subprocess.run(["kubectl", "get", "trainingjobs", "-v=6"], env=env,
                                        check=True, capture_output=True, text=True)
                hits = [m for m in ROUND_TRIP.finditer(traced.stderr) if "trainingjobs" in m[1]]
                if len(hits) != 1 or hits[0][2] != "200":
                    raise RuntimeError(f"unexpected kubectl -v=6 output: {traced.stderr[-500:]}")
                round_trips.append(int(hits[0][3]))
            round_trip_ms = statistics.median(round_trips)

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
    from bench.common import report

    report("kube API server start", start_ms / 1000, "s", runs=1)
    report("seed a Kubeflow cluster with the ACK CRDs", seed_ms / 1000, "s", runs=1)
    report("kubectl get round trip, as kubectl times it (-v=6)", round_trip_ms, "ms",
           target="<= 50", runs=len(round_trips), slowest=max(round_trips))
    report("kubectl get pods, whole process (warm discovery cache)", kubectl_get, "ms", runs=15)
    report("kubectl get trainingjobs, whole process", kubectl_get_cr, "ms", runs=15)
    report("kubectl version --client (kubectl's own start-up, no server call)", kubectl_bare,
           "ms", runs=15)
    report("kubectl get, first run (fills the discovery cache)", cold_ms, "ms", runs=1)
    report("python client GET namespace", py_get, "ms", runs=200)
    report("python client LIST TrainingJobs", py_list, "ms", runs=100)
    report("python client CREATE Model", py_create, "ms", runs=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
