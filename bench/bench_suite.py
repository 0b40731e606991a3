"""The whole test suite as ``make test`` runs it: its wall time (target ≤ 8 min on a quiet 2-core
machine) and its 15 slowest tests (pytest's ``--durations=15``).

Run: ``make bench-suite`` (or ``.venv/bin/python -m bench suite``; ``python -m bench`` alone
leaves it out, as it takes the suite's time). Prints the figures in bench's shared format and
writes the list of slow tests to ``bench/SUITE.md``. ``--from-log FILE`` reads a saved ``make
test`` output instead of running the suite (a fresh clone's run, say): the wall time is pytest's
own "in N s", the load average the one given with ``--load``. The load average before and after is
recorded beside the time: a figure taken on a loaded machine says so. Exits non-zero when the
suite fails, after printing what it measured.

A run (not ``--from-log``) also sums each test module's worker seconds (setup + call + teardown
of its tests, from pytest's JUnit XML), lists the longest modules in ``bench/SUITE.md`` and keeps
them all in ``tests/module_seconds.json``: tests/conftest.py hands out the longest modules first
from it, so a long module never starts last while the other worker has nothing left to do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from bench.common import ROOT, report

#: what `make test` passes to pytest (Makefile: PYTEST_ARGS)
SUITE_ARGS = ["-q", "-n", "3", "--dist", "loadfile", "--no-loadscope-reorder"]
SLOWEST = 15
#: modules listed in SUITE.md's per-module table
MODULES_LISTED = 20
TARGET_S = 8 * 60
REPORT = ROOT / "bench" / "SUITE.md"
#: every module's worker seconds, read by tests/conftest.py to order the modules
MODULE_SECONDS = ROOT / "tests" / "module_seconds.json"
#: "12.34s call     tests/tui/test_tui_flow.py::test_x[param]"
_DURATION = re.compile(r"^\s*(?P<secs>\d+(?:\.\d+)?)s\s+(?P<phase>call|setup|teardown)\s+"
                       r"(?P<test>\S.*?)\s*$")
_SUMMARY = re.compile(r"(?P<n>\d+) (?P<what>passed|failed|errors?|skipped)")


def slowest(output: str) -> list[tuple[float, str, str]]:
    """(seconds, phase, test id) of the durations pytest listed, slowest first."""
    rows, inside = [], False
    for line in output.splitlines():
        if "slowest" in line and "durations" in line:
            inside = True
            continue
        if inside:
            match = _DURATION.match(line)
            if match:
                rows.append((float(match["secs"]), match["phase"], match["test"]))
            elif line.strip() and rows:
                break
    return sorted(rows, reverse=True)


def counts(output: str) -> dict[str, int]:
    """passed / failed / errors / skipped from pytest's last summary line."""
    last = next((line for line in reversed(output.splitlines()) if " in " in line
                 and _SUMMARY.search(line)), "")
    return {m["what"].rstrip("s") if m["what"].startswith("error") else m["what"]: int(m["n"])
            for m in _SUMMARY.finditer(last)}


def module_seconds(junit_xml: Path) -> dict[str, float]:
    """Each test module's worker seconds (its tests' setup + call + teardown) from a JUnit XML
    written with ``-o junit_duration_report=total``; longest first."""
    totals: dict[str, float] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        module = _module_of(case.get("classname") or "", case.get("file"))
        totals[module] = totals.get(module, 0.0) + float(case.get("time") or 0.0)
    return dict(sorted(((m, round(t, 1)) for m, t in totals.items()), key=lambda kv: -kv[1]))


def _module_of(classname: str, file: str | None) -> str:
    """``tests/a/test_b.py`` from a JUnit classname (``tests.a.test_b`` or
    ``tests.a.test_b.TestClass``)."""
    if file:
        return file
    parts = classname.split(".")
    while parts and not (ROOT / Path(*parts)).with_suffix(".py").is_file():
        parts.pop()
    return str(Path(*parts).with_suffix(".py")) if parts else classname


_PYTEST_WALL = re.compile(r" in (?P<secs>\d+(?:\.\d+)?)s(?: \(|\s*$| =)")


def write_report(output: str, args: list[str], wall: float, exit_code: int, load_before: float,
                 load_after: float, where: str = "", when: float | None = None,
                 modules: dict[str, float] | None = None) -> None:
    """Print the figures of one suite run and write bench/SUITE.md from its output."""
    tally = counts(output)
    report("make test: pytest " + " ".join(args), wall, "s",
           f"<= {TARGET_S} on a quiet 2-core machine", runs=1, cpus=os.cpu_count(),
           load_before=round(load_before, 2), load_after=round(load_after, 2),
           exit_code=exit_code, **tally)
    rows = slowest(output)
    for rank, (secs, phase, test) in enumerate(rows[:SLOWEST], 1):
        report(f"slowest {rank:2d}: {test} ({phase})", secs, "s")
    lines = [f"# The suite's {SLOWEST} slowest tests", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M', time.localtime(when))}{where} with `pytest {' '.join(args)}`: "
             f"{wall:.0f} s in all (target {TARGET_S} s), exit code {exit_code}, "
             f"{tally or 'no summary'}; {os.cpu_count()} CPUs, load average {load_before:.1f} "
             f"before and {load_after:.1f} after.", "",
             "| # | seconds | phase | test |", "| --- | --- | --- | --- |"]
    lines += [f"| {n} | {secs:.1f} | {phase} | `{test}` |"
              for n, (secs, phase, test) in enumerate(rows[:SLOWEST], 1)]
    if modules:
        total = sum(modules.values())
        lines += ["", f"## The {MODULES_LISTED} longest modules", "",
                  f"Worker seconds (setup + call + teardown of a module's tests; a module-scoped "
                  f"sandbox counts in its first test's setup): {total:.0f} s over {len(modules)} "
                  f"modules, {total / wall:.2f} workers busy on average.", "",
                  "| seconds | module |", "| ---: | --- |"]
        lines += [f"| {secs:.1f} | `{module}` |"
                  for module, secs in list(modules.items())[:MODULES_LISTED]]
    REPORT.write_text("\n".join(lines) + "\n")


def from_log(path: Path, load: str) -> int:
    """The figures of a saved ``make test`` output (see the module's docstring)."""
    output = path.read_text(errors="replace")
    walls = [float(m["secs"]) for line in output.splitlines() if _SUMMARY.search(line)
             for m in [_PYTEST_WALL.search(line)] if m]
    if not walls:
        print(f"{path}: no pytest summary line (\"N passed in S s\") found", file=sys.stderr)
        return 2
    failed = counts(output).get("failed", 0) + counts(output).get("error", 0)
    before, _, after = load.partition(",")
    write_report(output, SUITE_ARGS, walls[-1], 1 if failed else 0, float(before or "nan"),
                 float(after or before or "nan"), where=f" (from {path.name})",
                 when=path.stat().st_mtime)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the suite once, print its figures, write bench/SUITE.md; the suite's exit code."""
    argv = list(argv if argv is not None else sys.argv[1:])
    if argv[:1] == ["--from-log"]:
        load = argv[argv.index("--load") + 1] if "--load" in argv else ""
        return from_log(Path(argv[1]), load)
    args = SUITE_ARGS + argv
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    # the tests run labwiz, kfp and aws from the interpreter's bin, as under make test
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    load_before = os.getloadavg()[0]
    junit = Path(tempfile.mkdtemp(prefix="bench-suite-")) / "suite.xml"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", *args, f"--durations={SLOWEST}",
                           "-p", "no:cacheprovider", f"--junitxml={junit}",
                           "-o", "junit_duration_report=total"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    wall = time.monotonic() - started
    output = proc.stdout + proc.stderr
    modules = module_seconds(junit) if junit.exists() else None
    if modules and proc.returncode == 0:  # a failed run's times would mislead the ordering
        MODULE_SECONDS.write_text(json.dumps(modules, indent=1) + "\n")
    write_report(output, args, wall, proc.returncode, load_before, os.getloadavg()[0],
                 modules=modules)
    if proc.returncode != 0:
        print(output[-4000:], file=sys.stderr)
    return proc.returncode

if __name__ == "__main__":
    sys.exit(main())
