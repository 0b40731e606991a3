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
import threading
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


# -- memory of process trees (from /proc) ------------------------------------------------------

def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def tree_memory_mib(pid: int, field: str = "VmRSS") -> float:
    """Summed ``field`` (VmRSS now, or VmHWM: each process's own peak) of a process tree, MiB."""
    total = 0
    for current in process_tree(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # exited meanwhile
    return total / 1024


class MemorySampler(threading.Thread):
    """Peak summed resident memory of process trees, sampled every 50 ms in the background.

    Sampling catches short-lived workers (training jobs, scripts) that a one-off VmHWM reading
    after the fact would miss because they have exited.
    """

    def __init__(self, roots: dict[str, int]):
        """Watch the trees rooted at ``roots`` (name -> pid); ``peak`` adds a "total"."""
        super().__init__(daemon=True)
        self.roots = roots
        self.peak = {name: 0.0 for name in roots} | {"total": 0.0}
        self.done = threading.Event()

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self.done.wait(0.05):
            now = {name: tree_memory_mib(pid) for name, pid in self.roots.items()}
            for name, value in now.items():
                self.peak[name] = max(self.peak[name], value)
            self.peak["total"] = max(self.peak["total"], sum(now.values()))

    def stop(self) -> dict[str, float]:
        """Stop sampling and return the peaks."""
        self.done.set()
        self.join(2)
        return self.peak
