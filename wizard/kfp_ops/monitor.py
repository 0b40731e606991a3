"""Start (or re-attach to) the lab's run and follow it: tasks, custom resources, logs.

Every poll sends the ``graph`` and ``resources`` views with fresh elapsed times, so the TUI's
picture stays live; the log only hears what changed, and the headless reporter prints a view
again only when more than its live parts (elapsed times, log tails) changed.
"""

from __future__ import annotations

import datetime as dt
import time

from wizard.errors import StepError
from wizard.kfp_ops import resources as crs
from wizard.kfp_ops.connect import translate

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}
#: quick looks for a sandbox run whose tasks have all ended, before the usual pace again (a
#: run that does not end then is not held to ten looks a second)
SETTLING_LOOKS = 10


def task_graph(spec: dict) -> dict[str, list[str]]:
    """``{task display name: [display names it waits for]}`` from a compiled pipeline spec."""
    tasks = spec.get("root", {}).get("dag", {}).get("tasks", {})
    label = {key: t.get("taskInfo", {}).get("name", key) for key, t in tasks.items()}
    return {label[key]: sorted(label.get(d, d) for d in t.get("dependentTasks") or [])
            for key, t in tasks.items()}


def find_existing_run(client, experiment_id: str, run_name: str, namespace: str | None):
    """A run of this lab already started under ``run_name`` (lost from the ledger), or None."""
    try:
        page = client.list_runs(experiment_id=experiment_id, page_size=50, namespace=namespace,
                                sort_by="created_at desc")
    except Exception as exc:  # noqa: BLE001
        raise translate(exc, "listing runs") from None
    for run in page.runs or []:
        if run.display_name == run_name:
            return run
    return None


class Follower:
    """Polls one run until it ends, reporting what changed."""

    def __init__(self, ctx, reporter, client, run_id: str, graph: dict, namespace: str,
                 fast: bool):
        """Follow ``run_id``; ``graph`` is the task graph, ``fast`` the sandbox's quick polling."""
        self.ctx, self.reporter, self.client = ctx, reporter, client
        self.run_id, self.graph, self.namespace = run_id, graph, namespace
        # the sandbox's run ends seconds after its last change: looking at most a second
        # apart ends the step soon after the run; a real run's tasks take minutes
        self.delays = (0.5, 1.0) if fast else (2.0, 5.0, 10.0, 15.0)
        # every task has ended but the run not yet: the sandbox's worker writes the run's end
        # right after its last task's, so look again soon (a real run keeps its backoff)
        self.settling_delay = 0.1 if fast else None
        self.task_states: dict[str, str] = {}
        self.last_graph = self.last_resources = None
        self.recorded: set[str] = set()
        self.resources: list[dict] = []
        self.started = time.monotonic()
        #: elapsed seconds of resources that have finished, frozen at their end
        self._final_elapsed: dict[str, float] = {}
        # a finished job's last log lines can reach CloudWatch after its status (seconds, on
        # AWS); the sandbox's workers write them before they report the end
        self.log_settle_s = 0.0 if fast else 60.0
        #: when each resource was first seen finished, and the log tails kept once settled
        self._finished_at: dict[str, float] = {}
        self._frozen_logs: dict[str, dict] = {}
        #: the SageMaker name each custom resource manages
        self._sm_names: dict[str, str] = {}

    def poll(self):
        """One look at the run; returns the run object."""
        try:
            run = self.client.get_run(self.run_id)
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, f"reading run {self.run_id}") from None
        self._tasks(run)
        self._resources()
        return run

    def _tasks(self, run) -> None:
        """Log task state changes and show the graph when it changed."""
        details = (run.run_details.task_details if run.run_details else None) or []
        states = {d.display_name: str(d.state or "PENDING") for d in details
                  if d.display_name in self.graph}
        # one line per poll for what changed (a task first seen PENDING has not changed)
        changed = [(name, state) for name, state in sorted(states.items())
                   if self.task_states.get(name, "PENDING") != state]
        if changed:
            self.reporter.log("tasks: " + ", ".join(f"{n} {s}" for n, s in changed),
                              "error" if any(s == "FAILED" for _, s in changed) else "info")
        self.task_states.update(states)
        view = {"tasks": [{"name": n, "state": self.task_states.get(n, "PENDING"),
                           "depends_on": deps} for n, deps in self.graph.items()],
                "run": {"id": self.run_id, "state": str(run.state)}}
        self.last_graph = view
        # shown on every poll: the elapsed time is part of the picture (front-ends that print
        # rather than redraw skip a view whose only change is its live parts)
        self.reporter.show("graph", {**view, "run": {**view["run"],
                                                     "elapsed_s": self._run_elapsed(run)}})
        done = sum(1 for s in self.task_states.values() if s in TERMINAL)
        self.reporter.progress("pipeline tasks", done, len(self.graph))

    def _resources(self) -> None:
        """Read the run's custom resources, record new ones, show them when they changed."""
        from wizard.protocol import Resource

        custom = self.ctx.clients.custom_objects()
        logs = self.ctx.clients.aws("logs")
        rows = []
        for kind, plural, obj in crs.fetch(custom, self.namespace, self.run_id):
            row = crs.summarise(kind, obj)
            self._sm_names[row["name"]] = _sagemaker_name(obj)
            if row["name"] not in self.recorded:
                self.ctx.ledger.record(Resource(
                    kind="custom-resource", name=row["name"], step="run-monitoring",
                    namespace=self.namespace, arn=row["arn"] or None,
                    details={"kind": kind, "plural": plural, "group": crs.GROUP,
                             "version": crs.VERSION, "run_id": self.run_id}))
                self.recorded.add(row["name"])
            elif row["arn"]:
                self.ctx.ledger.record(Resource(kind="custom-resource", name=row["name"],
                                                arn=row["arn"]))
            frozen = self._frozen_logs.get(row["name"])
            if frozen is not None and row["status"] in crs.FINISHED:
                row.update(frozen)
            else:
                row["log_tail"] = crs.log_tail(logs, kind, row["name"])
                if kind == "HyperParameterTuningJob":
                    # the tuning job logs nothing itself: its training jobs do
                    row["children"] = crs.tuning_children(self.ctx.clients.aws("sagemaker"),
                                                          logs, self._sm_names[row["name"]])
                self._freeze_when_settled(row)
            row["elapsed_s"] = self._resource_elapsed(row)
            rows.append(row)
        compare = [{k: v for k, v in r.items() if k not in ("log_tail", "elapsed_s", "children")}
                   for r in rows]
        if compare != self.last_resources:
            for row in rows:
                old = next((o for o in self.last_resources or [] if o["name"] == row["name"]), None)
                if not old or old["status"] != row["status"] or old["secondary"] != row["secondary"]:
                    for skipped in self._phases_between(row, old):
                        self.reporter.log(f"{row['kind']} {row['name']}: InProgress ({skipped})")
                    extra = f" ({row['secondary']})" if row["secondary"] else ""
                    self.reporter.log(f"{row['kind']} {row['name']}: {row['status']}{extra}")
                retrying = _recoverable_message(row)
                if retrying and retrying != _recoverable_message(old or {}):
                    # ACK keeps retrying it, so the run is not failing (yet): say why it waits
                    self.reporter.log(f"{row['kind']} {row['name']}: ACK.Recoverable (ACK "
                                      f"retries): {retrying}", "warning")
            self.last_resources = compare
        self.reporter.show("resources", rows)
        self.resources = rows

    def _phases_between(self, row: dict, old: dict | None) -> list[str]:
        """The training phases a learner did not see: those SageMaker's history
        (``SecondaryStatusTransitions``) has between the phase last shown and the one now,
        when a poll missed them (a sandbox phase can be shorter than the time between two
        looks; on AWS polls are 30 s apart). Empty for other kinds, or when nothing was
        missed or the history cannot be read."""
        if row["kind"] != "TrainingJob" or not row["secondary"]:
            return []
        before = (old or {}).get("secondary") or ""
        try:
            job = self.ctx.clients.aws("sagemaker").describe_training_job(
                TrainingJobName=self._sm_names.get(row["name"], row["name"]))
        except Exception:  # noqa: BLE001 - the history is a nicety, the current phase is shown
            return []
        phases = [t.get("Status") for t in job.get("SecondaryStatusTransitions") or []]
        if row["secondary"] not in phases:
            return []
        end = phases.index(row["secondary"])
        start = phases.index(before) + 1 if before in phases[:end] else 0
        return [p for p in phases[start:end] if p and p not in _NOT_IN_PROGRESS]

    def _freeze_when_settled(self, row: dict) -> None:
        """Keep a finished resource's log tail (and a tuning job's children) once read after
        it finished and the logs' settling time has passed: a finished job writes no more, so
        reading its logs again on every poll only cost time (each look is two CloudWatch calls
        per job; with most of the run finished that was most of a poll)."""
        if row["status"] not in crs.FINISHED:
            self._finished_at.pop(row["name"], None)
            return
        seen = self._finished_at.setdefault(row["name"], time.monotonic())
        if time.monotonic() - seen >= self.log_settle_s:
            self._frozen_logs[row["name"]] = {k: row[k] for k in ("log_tail", "children")
                                              if k in row}

    def _run_elapsed(self, run) -> float:
        """Seconds since the run was created (to its end once it finished); since monitoring
        began when KFP gives no creation time."""
        created = _as_datetime(getattr(run, "created_at", None))
        if created is None:
            return round(time.monotonic() - self.started, 1)
        end = _as_datetime(getattr(run, "finished_at", None)) \
            if str(run.state) in TERMINAL else None
        if end is None or end < created:  # KFP reports an unset finish time as the epoch
            end = dt.datetime.now(dt.timezone.utc)
        return round(max(0.0, (end - created).total_seconds()), 1)

    def _resource_elapsed(self, row: dict) -> float | None:
        """Seconds since the custom resource was created, frozen once it has finished."""
        if row["name"] in self._final_elapsed:
            return self._final_elapsed[row["name"]]
        created = _as_datetime(row.get("created"))
        if created is None:
            return None
        elapsed = round(max(0.0, (dt.datetime.now(dt.timezone.utc) - created).total_seconds()), 1)
        if row["status"] in crs.FINISHED:
            self._final_elapsed[row["name"]] = elapsed
        return elapsed

    def follow(self):
        """Poll with backoff until the run ends; return the final run object."""
        started, step, settling = time.monotonic(), 0, 0
        while True:
            run = self.poll()
            if str(run.state) in TERMINAL:
                self.reporter.log(f"Run {self.run_id} {run.state} after "
                                  f"{time.monotonic() - started:.0f} s of monitoring.")
                return run
            changed = self.task_states != getattr(self, "_seen", None)
            self._seen = dict(self.task_states)
            step = 0 if changed else min(step + 1, len(self.delays) - 1)
            if self.settling_delay is not None and self._all_tasks_ended() \
                    and settling < SETTLING_LOOKS:
                settling += 1
                time.sleep(self.settling_delay)
            else:
                time.sleep(self.delays[step])

    def _all_tasks_ended(self) -> bool:
        """Whether every task of the graph has reached a final state (the run's end is due)."""
        return bool(self.graph) and all(self.task_states.get(name) in TERMINAL
                                        for name in self.graph)

    def failure_message(self, run) -> str:
        """The failing task's message and SageMaker's failure reasons, for the step's error."""
        parts = []
        # SageMaker's own words (its message and code) say it best, once; a task's message is
        # the traceback of the pod that waited for it, used only when SageMaker said nothing
        for row in self.resources:
            if row["failure"]:
                parts.append(f"{row['kind']} {row['name']}: {row['failure']}")
        details = (run.run_details.task_details if run.run_details else None) or []
        for d in details if not parts else []:
            if str(d.state) == "FAILED" and d.display_name in self.graph:
                message = (d.error.message if d.error else "") or ""
                parts.append(f"task {d.display_name} failed: {_reason(message)}")
        if not parts and run.error:
            parts.append(run.error.message or "")
        return "\n".join(parts) or f"the run ended {run.state}"


def _reason(message: str) -> str:
    """The telling line of a task's error: the exception line of a Python traceback (never its
    frames or a ``raise … from None`` tail), else the message's last line, at most 600 characters."""
    import re

    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if "Traceback (most recent call last)" in message:
        errors = [line for line in lines
                  if re.match(r"^[\w.]*(Error|Exception|Exit|Interrupt)\b[^ ]*:? ", line + " ")]
        if errors:
            return errors[-1][-600:]
    kept = [line for line in lines if not line.startswith(("raise ", "File \"", "^"))]
    return (kept[-1] if kept else message.strip())[-600:]


def _as_datetime(value) -> dt.datetime | None:
    """A timezone-aware datetime from KFP's datetime or an RFC 3339 string; None if unknown."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _recoverable_message(row: dict) -> str:
    """The message of a row's ACK.Recoverable condition while it is True, else ''."""
    for cond in row.get("conditions") or []:
        if cond.get("type") == "ACK.Recoverable" and cond.get("status") == "True":
            return cond.get("message") or "(no message)"
    return ""


#: training phases (SecondaryStatus) that are not part of an InProgress job
_NOT_IN_PROGRESS = {"Completed", "Failed", "Stopping", "Stopped", "MaxRuntimeExceeded",
                    "MaxWaitTimeExceeded", "Interrupted"}


def _sagemaker_name(obj: dict) -> str:
    """The SageMaker name a custom resource manages (its ``spec.<kind>Name``), else its own."""
    spec = obj.get("spec") or {}
    kind = str(obj.get("kind") or "")
    return spec.get(kind[:1].lower() + kind[1:] + "Name") or obj["metadata"]["name"]


def raise_for(run, follower: Follower) -> None:
    """Fail the step for a run that did not succeed."""
    if str(run.state) != "SUCCEEDED":
        raise StepError(f"The pipeline run {run.run_id} ended {run.state}.\n"
                        f"{follower.failure_message(run)}",
                        remediation="Fix the cause, then 'labwiz reset --to run-monitoring' and "
                        "run again (a new run uses new resource names).")
