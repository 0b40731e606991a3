"""Run every benchmark and write one table: ``python -m bench`` (or ``make bench``).

Each ``bench/bench_*.py`` runs in its own process (so one benchmark's imports and memory do not
colour another's) and prints JSON figures (see :mod:`bench.common`). The table, with medians and
the machine's description, goes to ``bench/RESULTS.md`` and between the markers in README.md.
``python -m bench tui kube`` runs only those; the others keep their last figures
(``bench/results.json``).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT

RESULTS = ROOT / "bench" / "RESULTS.md"
#: every benchmark's latest figures, so that running one benchmark keeps the others' rows
SAVED = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
#: benchmarks run only when named, with their own time limits (s)
ON_REQUEST = {"bench_suite": 3 * 3600, "bench_profile": 1800}


def machine() -> str:
    """One line describing this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


def run_one(path: Path, timeout: float) -> tuple[list[dict], str]:
    """The figures one benchmark printed, and an error text if it failed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    try:
        proc = subprocess.run([sys.executable, "-m", f"bench.{path.stem}"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s"
    rows = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    error = "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return rows, error


def _met(row: dict) -> str:
    target = str(row.get("target") or "")
    match = re.match(r"\s*(<=|>=)\s*([0-9.]+)", target)
    if not match or not isinstance(row.get("value"), (int, float)):
        return ""
    bound = float(match.group(2))
    ok = row["value"] <= bound if match.group(1) == "<=" else row["value"] >= bound
    return "yes" if ok else "**no**"


def table(results: list[tuple[str, list[dict], str]]) -> str:
    """The Markdown table of every figure."""
    lines = ["| benchmark | figure | median | target | met |", "| --- | --- | --- | --- | --- |"]
    for name, rows, error in results:
        for row in rows:
            value = row.get("value")
            shown = f"{value:g} {row.get('unit', '')}".strip() if isinstance(value, (int, float)) \
                else str(value)
            runs = f" (n={row['runs']})" if row.get("runs") else ""
            lines.append(f"| {name} | {row.get('metric', '?')}{runs} | {shown} | "
                         f"{row.get('target', '')} | {_met(row)} |")
        if error:
            lines.append(f"| {name} | did not finish: {error[:120]} | | | |")
    return "\n".join(lines)


def load_saved() -> dict[str, dict]:
    """The figures of every benchmark's latest run (``bench/results.json``), by name."""
    try:
        data = json.loads(SAVED.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def main(argv: list[str]) -> int:
    """Run the benchmarks named in argv (all when none); merge their figures with the saved
    figures of the others, so a partial run never drops rows, and write the report."""
    paths = sorted((ROOT / "bench").glob("bench_*.py"))
    if argv:
        paths = [p for p in paths if any(a in p.stem for a in argv)]
    else:  # the whole suite takes the suite's time: only when named (`python -m bench suite`)
        paths = [p for p in paths if p.stem not in ON_REQUEST]
        if not paths:
            print(f"no benchmark matches {' '.join(argv)}; they are: "
                  + ", ".join(p.stem.removeprefix("bench_")
                              for p in sorted((ROOT / "bench").glob("bench_*.py"))))
            return 2
    saved = load_saved()
    for path in paths:
        started = time.monotonic()
        print(f"running {path.stem} ...", flush=True)
        rows, error = run_one(path, timeout=ON_REQUEST.get(path.stem, 900))
        print(f"  {len(rows)} figures in {time.monotonic() - started:.1f} s {error}", flush=True)
        saved[path.stem.removeprefix("bench_")] = {
            "rows": rows, "error": error, "measured": time.strftime("%Y-%m-%d %H:%M"),
            "load_average_1m": round(os.getloadavg()[0], 2)}
    SAVED.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    results = [(name, entry.get("rows") or [], entry.get("error") or "")
               for name, entry in sorted(saved.items())]
    when = sorted({entry.get("measured", "?")[:10] for entry in saved.values()})
    body = (f"Measured {', '.join(when)} on: {machine()}.\n\n{table(results)}\n")
    RESULTS.write_text("# Benchmark results\n\n" + body)
    if README.exists():
        text = README.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            README.write_text(f"{head}{START}\n{body}{END}{tail}")
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
