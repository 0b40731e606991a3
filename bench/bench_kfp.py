"""Benchmark the sandbox KFP API server: upload and get round trips, a 2-task run end to end.

Prints one JSON line per figure (see bench/common.py) and exits 0.
Run: ``.venv/bin/python -m bench.bench_kfp``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Measure and print the figures."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "kfp_api"))
    warnings.simplefilter("ignore")
    import kfp
    from bench.common import median, report
    from kfp_pipelines import compile_all

    from wizard.sandbox.kfp_api import KfpApiServer

    with tempfile.TemporaryDirectory() as tmp:
        paths = compile_all(Path(tmp) / "compiled")
        server = KfpApiServer(Path(tmp) / "kfp").start()
        try:
            client = kfp.Client(host=server.url)
            uploads, gets = [], []
            first = None
            for i in range(15):
                t = time.perf_counter()
                pipeline = client.upload_pipeline(str(paths["sum"]), pipeline_name=f"bench-{i}")
                uploads.append(time.perf_counter() - t)
                first = first or pipeline
            for _ in range(30):
                t = time.perf_counter()
                client.get_pipeline(first.pipeline_id)
                gets.append(time.perf_counter() - t)
            report("upload pipeline round trip (median)", median(uploads) * 1000, "ms",
                   "<= 100", runs=len(uploads))
            report("get pipeline round trip (median)", median(gets) * 1000, "ms", "<= 20",
                   runs=len(gets))
            experiment = client.create_experiment("bench")
            runs = []
            for i in range(3):
                t = time.perf_counter()
                run = client.run_pipeline(experiment.experiment_id, f"bench-run-{i}",
                                          pipeline_package_path=str(paths["sum"]),
                                          params={"a": i, "b": 1})
                state = client.wait_for_run_completion(run.run_id, timeout=120,
                                                       sleep_duration=0.05).state
                if state != "SUCCEEDED":
                    print(f"bench run {run.run_id} ended {state}", file=sys.stderr)
                    return 1
                runs.append(time.perf_counter() - t)
            report("2-task pipeline run, create to SUCCEEDED (median)", median(runs), "s",
                   "<= 10", runs=len(runs))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
