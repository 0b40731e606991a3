"""Benchmark the component generator: generation + kfp compile per CRD, CLI start, field coverage.

Prints one JSON object per figure (bench.common's format) and exits 0.
Run: .venv/bin/python bench/bench_generator.py
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "ack-crds" / "v1.9.1"


def main() -> int:
    """Measure and print the figures."""
    sys.path.insert(0, str(ROOT))
    from bench.common import median, report, time_command
    from wizard.generator.core import generate
    from wizard.generator.crds import load_crds_from_path

    if not CRD_DIR.is_dir():
        report("generator: CRDs not found", 0, "", target=str(CRD_DIR))
        return 0
    t = time.perf_counter()
    crds = load_crds_from_path(CRD_DIR)
    report("generator: load 26 v1.9.1 CRDs", time.perf_counter() - t, "s")
    per_crd, mapped, total = [], 0, 0
    with tempfile.TemporaryDirectory() as out:
        for crd in crds:
            t = time.perf_counter()
            result = generate(crd, Path(out))
            per_crd.append(time.perf_counter() - t)
            total += len(crd.spec_fields)
            mapped += len(set(result.input_map.values()) & set(crd.spec_fields))
    report("generator: generate + compile one CRD (median)", statistics.median(per_crd), "s",
           target="<= 1", runs=len(per_crd))
    report("generator: generate + compile all CRDs", sum(per_crd), "s", runs=1)
    report("generator: top-level spec fields mapped losslessly", 100.0 * mapped / total, "%",
           target="100", fields=total)
    times = time_command([sys.executable, "-m", "wizard.generator", "--help"], runs=5)
    report("generator: cold start python -m wizard.generator --help", median(times), "s", runs=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
