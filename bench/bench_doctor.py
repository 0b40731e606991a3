"""Benchmark the doctor: the full catalogue against a sandbox lab (target: <= 10 s), and a bundle.

Starts a sandbox in a temporary state directory, brings the lab to the point where every check
has something to examine (the doctor tests' :class:`Lab`), then times ``labwiz doctor --sandbox``
as a learner runs it (a fresh process each time) and the checks alone in-process. Prints one
JSON line per figure (see bench/common.py) and exits 0.
Run: ``.venv/bin/python bench/bench_doctor.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "doctor"))

from bench.common import labwiz_cmd, median, report  # noqa: E402


def main() -> int:
    """Measure and print the figures."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    from doctor_lab import Lab

    from wizard.bundle import write_bundle
    from wizard.doctor import run_checks

    with tempfile.TemporaryDirectory(prefix="labwiz-bench-doctor-") as tmp:
        lab = Lab(Path(tmp) / "state").setup()
        try:
            argv = labwiz_cmd() + ["--state-dir", str(lab.state_dir), "doctor", "--sandbox",
                                   "--json"]
            walls, codes = [], []
            for _ in range(3):
                start = time.perf_counter()
                proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                                      timeout=120, env=dict(os.environ))
                walls.append(time.perf_counter() - start)
                codes.append(proc.returncode)
            report("doctor: full catalogue, fresh process (sandbox)", median(walls), "s",
                   "<= 10", runs=len(walls), exit_codes=codes)
            inproc = []
            for _ in range(3):
                start = time.perf_counter()
                results = run_checks(lab.state_dir, lab.target)
                inproc.append(time.perf_counter() - start)
            slowest = max(results, key=lambda r: r.duration_s)
            report("doctor: checks alone, in-process (warm clients)", median(inproc), "s",
                   "<= 10", runs=len(inproc), checks=len(results),
                   slowest_check=slowest.name, slowest_s=slowest.duration_s)
            start = time.perf_counter()
            bundle = write_bundle(lab.state_dir, lab.target, tmp)
            report("bundle: write (doctor included)", time.perf_counter() - start, "s", "",
                   files=len(bundle.files), bytes=bundle.path.stat().st_size)
        finally:
            lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
