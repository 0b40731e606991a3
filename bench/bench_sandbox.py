"""Benchmark the sandbox's life cycle as a learner runs it: ``labwiz sandbox up`` until every
service is healthy (a first start, which provisions the lab account and cluster, and restarts
on kept data), and ``labwiz sandbox down``. Also how long a mutating AWS call takes to reach
disk (the window a SIGKILL could lose).

Prints one JSON object per figure (see bench.common). Run:
``.venv/bin/python -m bench.bench_sandbox``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import labwiz_cmd, median, report  # noqa: E402

RESTARTS = 3


def _env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABWIZ_", "AWS_", "KUBECONFIG", "KF_PIPELINES"))}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _timed(state_dir: Path, *args: str) -> float:
    """Wall time of ``labwiz --state-dir S sandbox ARGS`` (which must succeed)."""
    start = time.perf_counter()
    proc = subprocess.run([*labwiz_cmd(), "--state-dir", str(state_dir), "sandbox", *args],
                          env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sandbox {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def _persist_window(state_dir: Path) -> float:
    """Seconds from a CreateRole answer until the AWS snapshot holding it is written."""
    import boto3

    info = json.loads((state_dir / "sandbox" / "sandbox.json").read_text())
    url = info["services"]["aws"]["url"]

    def written() -> int:
        with urllib.request.urlopen(f"{url}/_labwiz/health", timeout=5) as resp:
            return json.loads(resp.read())["snapshots_written"]

    iam = boto3.client("iam", endpoint_url=url, region_name=info["region"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    before = written()
    iam.create_role(RoleName=f"bench-{time.time_ns()}", AssumeRolePolicyDocument="{}")
    start = time.perf_counter()
    while written() <= before:
        time.sleep(0.01)
    return time.perf_counter() - start


def main() -> None:
    """Run the measurements and print the figures."""
    with tempfile.TemporaryDirectory(prefix="labwiz-bench-sandbox-") as tmp:
        state_dir = Path(tmp) / "state"
        load = os.getloadavg()[0]
        first = _timed(state_dir, "up")
        window = _persist_window(state_dir)
        downs = [_timed(state_dir, "down")]
        ups = []
        for _ in range(RESTARTS):
            ups.append(_timed(state_dir, "up"))
            downs.append(_timed(state_dir, "down"))
    report("sandbox up, first start (provisions account and cluster)", first, "s", "<= 5",
           runs=1, load_average=round(load, 2))
    report("sandbox up, restart on kept data", median(ups), "s", "<= 5", runs=len(ups))
    report("sandbox down", median(downs), "s", "", runs=len(downs))
    report("AWS change to disk (SIGKILL loss window)", window, "s", "<= 2", runs=1)


if __name__ == "__main__":
    main()
