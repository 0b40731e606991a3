"""Where the whole sandbox lab's time goes: per step, per KFP task, per SageMaker job.

Runs ``labwiz run --sandbox --yes`` from an empty sandbox to cleaned up, ``runs`` times (argument
``--runs N``, default 3), each in its own temporary state directory. While a lab runs, a sampler
thread copies what cleanup later deletes: the KFP run's ``status.json`` (every task's start and
end) and the sandbox SageMaker service's records (each job's creation, start, phases, end). From
them it splits every KFP task into

* start-up: the task started until its SageMaker resource was created (the component's process
  start and imports, its custom resource, the ACK controller noticing it); for a task that
  creates nothing (plan, best-hyperparameters, model-container) its whole time;
* SageMaker: the resource created until SageMaker says it finished;
* wait: SageMaker finished until the task ended (ACK's next look, the component's next poll,
  its exit and output collection);

and every SageMaker training job into its phases (Starting, which is the worker process's start
and imports, Downloading, Training, Uploading). The medians over the runs go to
``bench/PROFILE.md`` (``--out`` to write elsewhere); one JSON figure a line on stdout, as every
benchmark prints. Run: ``python -m bench.bench_profile`` (``make bench-profile``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the SageMaker kinds a task's ``ack_resource_arn`` names, as ARN resource types
ARN_KINDS = {"processing-job": "ProcessingJob", "training-job": "TrainingJob",
             "hyper-parameter-tuning-job": "HyperParameterTuningJob",
             "transform-job": "TransformJob", "model": "Model",
             "endpoint-config": "EndpointConfig", "endpoint": "Endpoint"}
#: per kind: (start-of-work field, end-of-work field) in SageMaker's records
TIMES = {"ProcessingJob": ("ProcessingStartTime", "ProcessingEndTime"),
         "TrainingJob": ("TrainingStartTime", "TrainingEndTime"),
         "TransformJob": ("TransformStartTime", "TransformEndTime"),
         "HyperParameterTuningJob": ("CreationTime", "HyperParameterTuningEndTime"),
         "Model": ("CreationTime", "CreationTime"),
         "EndpointConfig": ("CreationTime", "CreationTime"),
         "Endpoint": ("CreationTime", "_InServiceTime")}


class Sampler(threading.Thread):
    """Copies the run's progress and SageMaker's records every 0.1 s, keeping the last good
    copy of each, because cleanup deletes the run and the hosting resources."""

    def __init__(self, state: Path):
        """Watch the sandbox under ``state``."""
        super().__init__(daemon=True)
        self.state = state
        self.done = threading.Event()
        self.status: dict = {}
        self.records: dict[tuple[str, str], dict] = {}

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self.done.wait(0.1):
            self.sample()

    def sample(self) -> None:
        """One look at the files."""
        for path in (self.state / "sandbox" / "kfp" / "runs").glob("*/status.json"):
            doc = _read(path)
            if doc and len(doc.get("tasks") or {}) >= len(self.status.get("tasks") or {}):
                self.status = doc
        for path in (self.state / "sandbox" / "sagemaker" / "state").glob("*.json"):
            kind = path.stem
            for name, record in (_read(path) or {}).items():
                if not isinstance(record, dict):
                    continue
                old = self.records.get((kind, name), {})
                if record.get("EndpointStatus") == "InService" and "_InServiceTime" not in old:
                    record["_InServiceTime"] = record.get("LastModifiedTime")
                elif "_InServiceTime" in old:
                    record["_InServiceTime"] = old["_InServiceTime"]
                if record.get("EndpointStatus") != "Deleting":
                    self.records[(kind, name)] = record

    def stop(self) -> None:
        """Take a last sample and stop."""
        self.done.set()
        self.join(2)
        self.sample()


def _read(path: Path):
    """A JSON file, or None while it is being replaced."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _epoch(stamp: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 time."""
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def one_lab(workdir: Path) -> dict:
    """Run the whole lab once; its breakdown as {row name: seconds}."""
    from bench.common import labwiz_cmd, tree_memory_mib

    state = workdir / "lab"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABWIZ_", "AWS_"))}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    env["PYTHONPATH"] = str(ROOT)
    sampler = Sampler(state)
    sampler.start()
    began = time.time()
    try:
        done = subprocess.run([*labwiz_cmd(), "--state-dir", str(state), "run", "--sandbox",
                               "--yes"], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=900)
        whole = time.time() - began
        sampler.stop()
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
            raise SystemExit(f"the lab failed with code {done.returncode}")
        rows: dict[str, float] = {"whole lab (empty sandbox to cleaned up)": whole}
        try:
            pid = json.loads((state / "sandbox" / "sandbox.json").read_text())["pid"]
            rows["sandbox peak memory, MiB (daemon and live workers)"] = tree_memory_mib(
                pid, "VmHWM")
        except (OSError, ValueError, KeyError):
            pass
        rows.update(_breakdown(state, began, sampler))
        return rows
    finally:
        sampler.done.set()
        subprocess.run([*labwiz_cmd(), "--state-dir", str(state), "sandbox", "down"], env=env,
                       cwd=ROOT, capture_output=True, timeout=120)


def _breakdown(state: Path, began: float, sampler: Sampler) -> dict[str, float]:
    """Rows for the steps, the run's tasks and SageMaker's jobs."""
    rows: dict[str, float] = {}
    events = [json.loads(line) for line in (state / "events.jsonl").read_text().splitlines()
              if line.strip()]
    first = min((_epoch(e["ts"]) for e in events if e["event"] == "step.started"), default=began)
    rows["before the first step (labwiz start, sandbox up)"] = first - began
    for event in events:
        if event["event"] == "step.done":
            rows[f"step {event['step']}"] = event.get("duration_s") or 0.0
    status = sampler.status
    if not status:
        return rows
    run_start = _epoch(status.get("started_at"))
    run_end = _epoch(status.get("finished_at"))
    monitoring_start = next((_epoch(e["ts"]) for e in events if e["event"] == "step.started"
                             and e["step"] == "run-monitoring"), None)
    monitoring_end = next((_epoch(e["ts"]) for e in events if e["event"] == "step.done"
                           and e["step"] == "run-monitoring"), None)
    if run_start and monitoring_start:
        rows["run-monitoring: step start to the run's worker running"] = \
            run_start - monitoring_start
    if run_end and monitoring_end:
        rows["run-monitoring: run finished to step done (wizard's poll, model check)"] = \
            monitoring_end - run_end
    if run_start and run_end:
        rows["run: worker running to run finished"] = run_end - run_start
    tasks = sorted(status["tasks"].values(), key=lambda t: t.get("start_time") or "")
    ends: list[float] = []
    totals = {"start-up": 0.0, "SageMaker": 0.0, "wait": 0.0, "gap": 0.0}
    for task in tasks:
        start, end = _epoch(task.get("start_time")), _epoch(task.get("end_time"))
        if start is None or end is None:
            continue
        name = task["display_name"]
        ready = max([e for e in ends if e <= start + 0.05], default=run_start or start)
        rows[f"task {name}: total"] = end - start
        rows[f"task {name}: waited for its turn (scheduling gap)"] = max(0.0, start - ready)
        kind, sm_name = _resource_of(task)
        record = sampler.records.get((kind, sm_name)) if kind else None
        if record is None:
            rows[f"task {name}: start-up and work (no SageMaker resource)"] = end - start
            totals["start-up"] += end - start
        else:
            created = record.get("CreationTime") or start
            finished = record.get(TIMES[kind][1]) or created
            rows[f"task {name}: start-up (to {kind} created)"] = created - start
            rows[f"task {name}: SageMaker {kind} working"] = finished - created
            rows[f"task {name}: wait (SageMaker done to task done)"] = end - finished
            totals["start-up"] += created - start
            totals["SageMaker"] += finished - created
            totals["wait"] += end - finished
        ends.append(end)
    for part, value in totals.items():
        if part != "gap":
            rows[f"tasks summed: {part}"] = value
    for (kind, name), record in sorted(sampler.records.items()):
        if kind != "TrainingJob":
            continue
        label = "tuning trial" if "-hpo-" in name else "training job"
        for phase in record.get("SecondaryStatusTransitions") or []:
            if phase.get("Status") in ("Starting", "Downloading", "Training", "Uploading"):
                key = f"{label} phase {phase['Status']}"
                value = (phase.get("EndTime") or phase["StartTime"]) - phase["StartTime"]
                rows[key] = max(rows.get(key, 0.0), value)  # the slowest trial
    return rows


def _resource_of(task: dict) -> tuple[str | None, str | None]:
    """The SageMaker (kind, name) a task's ``ack_resource_arn`` output names."""
    raw = (task.get("parameters") or {}).get("ack_resource_arn")
    if not raw:
        return None, None
    arn = raw.strip('"')
    try:
        resource = arn.split(":", 5)[5]
        arn_type, name = resource.split("/", 1)
    except (IndexError, ValueError):
        return None, None
    return ARN_KINDS.get(arn_type), name


def table(runs: list[dict[str, float]], load: list[float]) -> str:
    """The Markdown table of the medians (and the spread) over ``runs``."""
    order: list[str] = []
    for run in runs:
        order += [k for k in run if k not in order]
    lines = [f"Medians of {len(runs)} whole labs; 1-minute load average at the start of each: "
             f"{', '.join(f'{x:.2f}' for x in load)}.", "",
             "| part | median | min | max |", "| --- | ---: | ---: | ---: |"]
    for key in order:
        values = [run[key] for run in runs if key in run]
        unit = "" if "MiB" in key else " s"
        lines.append(f"| {key} | {statistics.median(values):.2f}{unit} | {min(values):.2f} | "
                     f"{max(values):.2f} |")
    return "\n".join(lines)


def compare(before: Path, after: Path) -> str:
    """Medians of two --save files side by side (rows in the order the first lab gave)."""
    sides = []
    for path in (before, after):
        saved = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        sides.append(([s["rows"] for s in saved], [s["load"] for s in saved]))
    order: list[str] = []
    for runs, _ in sides:
        for run in runs:
            order += [k for k in run if k not in order]
    lines = [f"Labs: {len(sides[0][0])} before (load {', '.join(f'{x:.1f}' for x in sides[0][1])}),"
             f" {len(sides[1][0])} after (load {', '.join(f'{x:.1f}' for x in sides[1][1])}), "
             "run in turns.", "", "| part | before (median) | after (median) |",
             "| --- | ---: | ---: |"]
    for key in order:
        cells = []
        for runs, _ in sides:
            values = [run[key] for run in runs if key in run]
            cells.append(f"{statistics.median(values):.2f}" if values else "-")
        lines.append(f"| {key} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the figures and write the table."""
    import warnings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_PROFILE_RUNS", 3)))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "PROFILE.md")
    parser.add_argument("--title", default="Where the whole lab's time goes")
    parser.add_argument("--save", type=Path, help="append each lab's rows here (JSON lines)")
    parser.add_argument("--table-from", type=Path, nargs="+", metavar="SAVED",
                        help="no lab: print the table of labs saved with --save (to compare "
                        "two versions measured in turns, under the same load)")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"),
                        help="no lab: a side-by-side table of two --save files")
    args = parser.parse_args(argv)
    if args.compare:
        print(compare(*args.compare))
        return 0
    if args.table_from:
        for path in args.table_from:
            saved = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            print(f"### {path.name}\n\n" + table([s["rows"] for s in saved],
                                                   [s["load"] for s in saved]) + "\n")
        return 0
    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore")
    from bench.common import report

    runs, load = [], []
    for _ in range(max(1, args.runs)):
        load.append(os.getloadavg()[0])
        workdir = Path(tempfile.mkdtemp(prefix="labwiz-profile-"))
        try:
            runs.append(one_lab(workdir))
            if args.save:
                with open(args.save, "a") as out:
                    out.write(json.dumps({"load": load[-1], "rows": runs[-1]}) + "\n")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    body = table(runs, load)
    stamp = datetime.now().isoformat(timespec="minutes")
    section = f"## {args.title} ({stamp}, {os.cpu_count()} cores)\n\n{body}\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = args.out.read_text() if args.out.exists() else (
        "# Profile of the whole sandbox lab\n\nWritten by `make bench-profile` "
        "(bench/bench_profile.py); newest section first.\n")
    head, _, rest = previous.partition("\n## ")
    args.out.write_text(head.rstrip() + "\n\n" + section + ("\n## " + rest if rest else ""))
    whole = [run["whole lab (empty sandbox to cleaned up)"] for run in runs]
    report("profile: whole lab, median", statistics.median(whole), "s", target="<= 20 (aim 15)",
           runs=len(runs))
    for key in ("step run-monitoring", "tasks summed: start-up", "tasks summed: SageMaker",
                "tasks summed: wait"):
        values = [run[key] for run in runs if key in run]
        if values:
            report(f"profile: {key}, median", statistics.median(values), "s", runs=len(values))
    print(body, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
