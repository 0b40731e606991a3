"""Benchmark the sandbox ACK: CRD derivation time, conversion speed, fidelity figures.

Prints one JSON line of figures and exits 0. Run: ``.venv/bin/python bench/bench_ack.py``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REAL_DIR = Path("/work/shared/ack-crds/v1.9.1")
ROOT = Path(__file__).resolve().parent.parent


def _cold_derive_seconds() -> float:
    """Derivation of the lab's CRDs in a fresh interpreter (botocore model load included)."""
    code = ("import time; t=time.perf_counter(); from wizard.sandbox.ack import derive_crds; "
            "derive_crds(); print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.strip())


def _import_seconds() -> float:
    """Importing the package (what the CLI pays at start-up if it imports it)."""
    code = ("import time; t=time.perf_counter(); import wizard.sandbox.ack; "
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    return float(out.stdout.strip())


def main() -> int:
    """Measure and print the figures."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "ack"))
    from ack_samples import all_samples

    from wizard.sandbox.ack.convert import spec_to_request
    from wizard.sandbox.ack.crds import derive_crds
    from wizard.sandbox.ack.fidelity import fidelity_report
    from wizard.sandbox.ack.resources import LAB_KINDS

    figures: dict[str, object] = {"bench": "ack"}
    figures["import_s"] = round(_import_seconds(), 4)
    figures["derive_lab_cold_s"] = round(_cold_derive_seconds(), 3)
    derive_crds()
    warm = []
    for _ in range(5):
        t = time.perf_counter()
        crds = derive_crds()
        warm.append(time.perf_counter() - t)
    figures["derive_lab_warm_s"] = round(statistics.median(warm), 4)
    figures["crd_json_bytes"] = sum(len(json.dumps(c)) for c in crds)
    samples = all_samples()
    t = time.perf_counter()
    rounds = 200
    for _ in range(rounds):
        for sample in samples:
            spec_to_request(sample["kind"], sample["spec"])
    figures["spec_to_request_us"] = round((time.perf_counter() - t) / (rounds * len(samples))
                                          * 1e6, 1)
    if REAL_DIR.is_dir():
        report = fidelity_report(crds, REAL_DIR)
        figures["fidelity_min_spec"] = min(report[k]["spec"] for k in LAB_KINDS)
        figures["fidelity_min_status"] = min(report[k]["status"] for k in LAB_KINDS)
        figures["fidelity_min_spec_deep"] = round(min(report[k]["spec_deep"] for k in LAB_KINDS), 4)
        figures["fidelity_min_status_deep"] = round(
            min(report[k]["status_deep"] for k in LAB_KINDS), 4)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
