"""Helpers every benchmark script shares: timing, medians, and the one output format.

Each benchmark prints one JSON object per figure on stdout:
``{"metric": "cold start: labwiz --version", "value": 0.21, "unit": "s", "target": "<= 0.4",
"runs": 7}``. ``python -m bench`` collects them into one table.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def labwiz_cmd() -> list[str]:
    """How to start labwiz: the venv's console script when installed, else ``python -m wizard``."""
    script = Path(sys.executable).with_name("labwiz")
    return [str(script)] if script.exists() else [sys.executable, "-m", "wizard"]


def time_command(argv: list[str], runs: int = 7, env: dict | None = None, warmup: int = 1) -> list[float]:
    """Wall times of ``runs`` runs of a command (after ``warmup`` unmeasured runs)."""
    full_env = {**os.environ, **(env or {})}
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(argv, env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def report(metric: str, value: float, unit: str, target: str = "", runs: int | None = None,
           **extra) -> None:
    """Print one figure in the shared format."""
    row = {"metric": metric, "value": round(value, 4), "unit": unit, "target": target}
    if runs is not None:
        row["runs"] = runs
    row.update(extra)
    print(json.dumps(row), flush=True)


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)
