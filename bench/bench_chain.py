"""Benchmark the lab's chain by hand through ACK custom resources in a real sandbox daemon.

Starts ``labwiz sandbox`` (its default pace: the same the demo and the lab get), uploads the
lab's data and script, then creates processing → tuning → training → model → endpoint config
→ endpoint → transform through the kubernetes client (``tests/chain/chain_lab.py``, the code the
chain test runs), waits on each status, and invokes the endpoint once through boto3; three times (own names),
median reported. The resident
memory of the daemon and all its workers is sampled every 50 ms throughout.

Targets (issue 4): the whole chain <= 30 s on this machine; sandbox peak memory <= 1 GiB.
Run: ``.venv/bin/python -m bench.bench_chain``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3


def main() -> int:
    """Run the chain once and print the figures."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "chain"))
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    import boto3
    from kubernetes import client, config

    from bench.common import MemorySampler, median, report
    from chain_lab import cluster_purity, run_chain, trained_centroids
    from wizard.sandbox import manager
    from wizard.sandbox.mnist import build_mnist_pkl_gz

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        started = time.perf_counter()
        info = manager.up(state).to_dict()
        up_s = time.perf_counter() - started
        pid = info["pid"]
        sampler = MemorySampler({"sandbox": pid})
        sampler.start()
        try:
            session = boto3.session.Session(aws_access_key_id="testing",
                                            aws_secret_access_key="testing",
                                            region_name=info["region"])
            aws_url = info["services"]["aws"]["url"]
            s3 = session.client("s3", endpoint_url=aws_url)
            data = build_mnist_pkl_gz(state / "mnist.pkl.gz")
            s3.upload_file(str(data), info["bucket"], "lab1/source_data/mnist.pkl.gz")
            s3.upload_file(str(ROOT / "assets/scripts/preprocess.py"), info["bucket"],
                           "lab1/processing_code/kmeans_preprocessing.py")
            configuration = client.Configuration()
            config.load_kube_config(config_file=info["kubeconfig"],
                                    client_configuration=configuration)
            custom = client.CustomObjectsApi(client.ApiClient(configuration))
            runtime = session.client("sagemaker-runtime", endpoint_url=aws_url)
            wholes: list[float] = []
            purities: list[float] = []
            stages: dict[str, list[float]] = {}
            for n in range(RUNS):  # each run its own names, in the same sandbox
                started = time.perf_counter()
                chain = run_chain(info, custom, f"bench{n}chain", on_stage=lambda name,
                                  seconds: stages.setdefault(name, []).append(seconds))
                runtime.invoke_endpoint(EndpointName=chain["endpoint_name"],
                                        ContentType="text/csv",
                                        Body=",".join(["0"] * 784))["Body"].read()
                wholes.append(time.perf_counter() - started)
                artifact = chain["training"]["modelArtifacts"]["s3ModelArtifacts"]
                purities.append(cluster_purity(trained_centroids(s3, artifact), data))
                # each run starts as the first did: no endpoint of an earlier run still serving
                custom.delete_namespaced_custom_object(
                    "sagemaker.services.k8s.aws", "v1alpha1", info["profile_namespace"],
                    "endpoints", chain["endpoint_name"])
        finally:
            peaks = sampler.stop()
            manager.down(state)
    report("sandbox up before the chain", up_s, "s", runs=1)
    report("chain by hand as custom resources: processing → tuning → training → model → "
           "endpoint config → endpoint → transform → invoke", median(wholes), "s",
           target="<= 30", runs=RUNS, slowest=round(max(wholes), 2),
           load_average=round(os.getloadavg()[0], 2))
    for name, seconds in stages.items():
        report(f"chain stage: {name}", median(seconds), "s", runs=len(seconds))
    report("cluster purity of the trained k-means on the test split (k=10; chance 0.1)",
           median(purities), "", runs=len(purities), lowest=round(min(purities), 3),
           highest=round(max(purities), 3))
    report("sandbox peak memory during the chain (daemon and workers, sampled)",
           peaks["sandbox"], "MiB", target="<= 1024")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
