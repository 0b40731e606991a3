"""Benchmark the whole lab in the sandbox: steps 1–4, steps 5–7 (compile, upload, the run) and
the pipeline run alone, in a fresh sandbox.

Prints one JSON line per figure (see bench/common.py) and exits 0.
Run: ``.venv/bin/python -m bench.bench_lab``. Takes about two minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _labwiz(state: Path, *args: str, timeout: float = 600) -> float:
    """Run one labwiz command against ``state``; its wall time (fails loudly on error)."""
    from bench.common import labwiz_cmd

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABWIZ_", "AWS_"))}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    started = time.perf_counter()
    done = subprocess.run([*labwiz_cmd(), "--state-dir", str(state), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"labwiz {' '.join(args)} failed with code {done.returncode}")
    return time.perf_counter() - started


def _run_seconds(state: Path) -> float:
    """How long the KFP run took, from its created_at/finished_at in the sandbox."""
    import kfp

    doc = json.loads((state / "state.json").read_text())
    info = json.loads((state / "sandbox" / "sandbox.json").read_text())
    run = kfp.Client(host=info["services"]["kfp"]["url"]).get_run(
        doc["steps"]["run-monitoring"]["outputs"]["run_id"])
    return (run.finished_at - run.created_at).total_seconds()


def main() -> int:
    """Measure and print the figures."""
    import warnings

    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore")
    from bench.common import report

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "lab"
        report("sandbox up (fresh)", _labwiz(state, "sandbox", "up"), "s")
        try:
            first = _labwiz(state, "run", "--sandbox", "--yes", "--only",
                            "credentials,data-upload,crd-selection,component-generation")
            report("lab steps 1-4", first, "s")
            rest = _labwiz(state, "run", "--sandbox", "--yes", "--only",
                           "compile,upload,run-monitoring")
            report("lab steps 5-7 (compile, upload, run to InService)", rest, "s",
                   target="<= 90 (aim 60)")
            report("pipeline run (KFP created -> finished)", _run_seconds(state), "s")
            report("lab steps 1-7", first + rest, "s", target="<= 90 (aim 60)",
                   measured_at=datetime.now().isoformat(timespec="seconds"))
        finally:
            _labwiz(state, "sandbox", "down", timeout=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
