"""The step engine: an ordered state machine over the lab's steps.

Each step is ``pending → running → done | failed | skipped``. On start the runner loads the state,
re-verifies the done steps in order, and resumes from the first step that is not done or no longer
verifies: the *last good step*. Every transition is saved before the work it announces, so a kill
at any moment leaves a state from which the next run resumes without repeating finished work.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from wizard.errors import InputError, LabwizError, StepDeclined
from wizard.events import EventLog
from wizard.hints import carry
from wizard.inputs import InputResolver
from wizard.ledger import Ledger
from wizard.lock import StateLock
from wizard.protocol import Command, Context, Reporter, Step, VerifyResult
from wizard.secrets import redact
from wizard.state import StateStore, now_iso
from wizard.target import Target

log = logging.getLogger("labwiz.engine")


@dataclass
class Plan:
    """Which steps a run will consider, after ``--from``, ``--only`` and ``--skip``."""

    run: list[str]
    skip: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """How a run ended."""

    ok: bool
    ran: list[str] = field(default_factory=list)
    failed_step: str | None = None
    error: dict | None = None
    resume_command: str = ""
    complete: bool = False  # the lab had already been finished (and cleaned up)


def parse_step_list(value: str | Iterable[str] | None, known: list[str]) -> list[str]:
    """``"a,b"`` → ``["a", "b"]``, each checked against the known step ids."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item not in known:
            raise InputError(f"'{item}' is not a step.",
                             remediation="Steps are: " + ", ".join(known) + ". See 'labwiz steps'.")
        out.append(item)
    return out


class _StepReporter:
    """Wraps the front-end's reporter: redacts, logs to file, and keeps the step's commands."""

    def __init__(self, inner: Reporter, step_id: str, commands_dir: Path):
        self.inner = inner
        self.step_id = step_id
        self.commands_file = commands_dir / f"{step_id}.sh"
        self._seen: set[str] = set()

    def log(self, message: str, level: str = "info") -> None:
        message = redact(str(message))
        log.log(logging.WARNING if level in ("warning", "error") else logging.INFO,
                "[%s] %s", self.step_id, message)
        self.inner.log(message, level)

    def progress(self, task: str, done: float, total: float | None = None, unit: str = "") -> None:
        self.inner.progress(task, done, total, unit)

    def command(self, command: Command) -> None:
        line = redact(command.shell())
        if line not in self._seen:  # a retried call shows its command once
            self._seen.add(line)
            self.commands_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.commands_file, "a", encoding="utf-8") as fh:
                if command.note:
                    fh.write(f"# {redact(command.note)}\n")
                fh.write(line + "\n")
            log.info("[%s] $ %s", self.step_id, line)
        self.inner.command(command)

    def show(self, kind: str, data) -> None:
        self.inner.show(kind, data)


def make_plan(ids: list[str], *, from_step: str | None = None, only=None, skip=None) -> Plan:
    """The steps of ``ids`` to consider after ``--from``, ``--only`` and ``--skip``, in lab order.

    Shared by the runner and ``--explain``, so that both pick exactly the same steps.
    """
    only_ids = parse_step_list(only, ids)
    skip_ids = parse_step_list(skip, ids)
    chosen = list(ids)
    if from_step:
        parse_step_list(from_step, ids)
        chosen = chosen[chosen.index(from_step):]
    if only_ids:
        chosen = [i for i in chosen if i in only_ids]
    return Plan(run=[i for i in chosen if i not in skip_ids], skip=skip_ids)


class Runner:
    """Runs a lab's steps against a state directory."""

    def __init__(self, state_dir: Path, steps: list[Step], *, target: Target | None = None,
                 reporter: Reporter, answers: dict | None = None,
                 prompter: Callable | None = None, confirm: Callable[[str], bool] | None = None,
                 assume_yes: bool = False, resume_command: str = "labwiz run",
                 on_state: Callable[[dict], None] | None = None):
        self.state_dir = Path(state_dir)
        self.steps = steps
        self.ids = [s.id for s in steps]
        self.target = target or Target()
        self.reporter = reporter
        self.store = StateStore(self.state_dir)
        self.events = EventLog(self.state_dir)
        self.answers = answers or {}
        self.prompter = prompter
        self.confirm = confirm or (lambda _q: False)
        self.asks = confirm is not None
        self.assume_yes = assume_yes
        self.resume_command = resume_command
        self.on_state = on_state
        self.doc: dict = {}

    # -- state helpers -------------------------------------------------------------------------
    def _save(self) -> None:
        self.store.save(self.doc)
        if self.on_state:
            self.on_state(self.doc)

    def _record(self, step_id: str) -> dict:
        rec = self.doc["steps"].setdefault(step_id, {"status": "pending", "attempts": 0})
        rec.setdefault("attempts", 0)
        return rec

    def _ctx(self, inputs: dict) -> Context:
        ctx = Context(state_dir=self.state_dir, doc=self.doc,
                      ledger=Ledger(self.doc, self._save, self.events), target=self.target,
                      inputs=inputs, confirm=self.confirm, assume_yes=self.assume_yes,
                      notify=self._notify_retry, asks=self.asks)
        return ctx

    def _notify_retry(self, message: str) -> None:
        """Show a client's retry as a warning line, so the learner knows the lab is not stuck."""
        self.reporter.log(message, "warning")

    # -- planning ------------------------------------------------------------------------------
    def plan(self, *, from_step: str | None = None, only=None, skip=None) -> Plan:
        """The steps to consider, in lab order."""
        return make_plan(self.ids, from_step=from_step, only=only, skip=skip)

    # -- the run -------------------------------------------------------------------------------
    def run(self, *, from_step: str | None = None, only=None, skip=None) -> Outcome:
        """Run the lab from its last good step; return how it ended."""
        plan = self.plan(from_step=from_step, only=only, skip=skip)
        with StateLock(self.state_dir) as lock:
            self.doc = self.store.load()
            if lock.took_over:
                self.reporter.log(f"Took over a stale lock left by {lock.took_over}.", "warning")
                self.events.append("lock.taken_over", previous=lock.took_over)
            self._mark_interrupted()
            chosen = (self.doc.get("input_sources") or {}).get("region") != "default" or \
                (self.doc["steps"].get("credentials") or {}).get("status") == "done"
            if not self.target.region and self.doc["inputs"].get("region") and chosen:
                self.target.region = self.doc["inputs"]["region"]  # the region chosen earlier
            self.doc["target"] = self.target.describe()
            if from_step:
                self._check_prerequisites(from_step, plan)
                for step_id in self.ids[self.ids.index(from_step):]:
                    if step_id in plan.run:
                        self._record(step_id)["status"] = "pending"
            for step_id in plan.skip:
                rec = self._record(step_id)
                if rec["status"] != "done":
                    rec["status"] = "skipped"
                    self.events.append("step.skipped", step=step_id)
            self._save()
            return self._run_plan(plan)

    def _mark_interrupted(self) -> None:
        """A step left ``running`` belonged to a process that died: record it as failed."""
        for step_id, rec in self.doc["steps"].items():
            if rec.get("status") == "running":
                rec["status"] = "failed"
                rec["error"] = {"type": "Interrupted",
                                "message": "labwiz stopped while this step was running.",
                                "remediation": "It runs again now; finished work is reused."}
                self.events.append("step.interrupted", step=step_id)

    def _check_prerequisites(self, from_step: str, plan: Plan) -> None:
        for step_id in self.ids[: self.ids.index(from_step)]:
            status = self.doc["steps"].get(step_id, {}).get("status", "pending")
            if status not in ("done", "skipped") and step_id not in plan.skip:
                raise InputError(
                    f"Cannot start at '{from_step}': the earlier step '{step_id}' is {status}.",
                    remediation=carry(f"Run 'labwiz run' to resume from '{step_id}', or add "
                                      f"--skip {step_id} if you did it another way.",
                                      self.resume_command))

    def _run_plan(self, plan: Plan) -> Outcome:
        outcome = Outcome(ok=True, resume_command=self.resume_command)
        steps = {s.id: s for s in self.steps}
        finished = [s for s in self.steps if s.finishes_lab
                    and self.doc["steps"].get(s.id, {}).get("status") == "done"]
        if finished and plan.run == [i for i in self.ids if i not in plan.skip]:
            when = self.doc["steps"][finished[0].id].get("finished_at", "")
            self.reporter.log(carry(f"This lab is complete: '{finished[0].id}' finished at {when}. "
                                    "Run 'labwiz reset' to do it again, or --only STEP for one step.",
                                    self.resume_command), "success")
            outcome.complete = True
            return outcome
        # A teardown step (cleanup) that started and did not finish removes what earlier steps
        # made, so their checks would fail and re-create the lab; while it is under way the
        # earlier steps stay done unchecked and the teardown resumes.
        teardown = next((s.id for s in self.steps if s.finishes_lab and s.id in plan.run
                         and self.doc["steps"].get(s.id, {}).get("status") in ("failed", "running")),
                        None)
        for step_id in self.ids:
            if step_id not in plan.run:
                continue
            step = steps[step_id]
            rec = self._record(step_id)
            if rec["status"] == "done" and teardown and self.ids.index(step_id) < self.ids.index(teardown):
                self.reporter.log(f"{step.title}: done earlier (not re-checked: {teardown} is under "
                                  "way and removes what it made).", "success")
                continue
            if rec["status"] == "done":
                result = self._verify(step, rec)
                if result.ok:
                    self.reporter.log(f"{step.title}: done earlier, still verified.", "success")
                    continue
                self.reporter.log(f"{step.title}: no longer holds ({result.reason}); running it "
                                  "again.", "warning")
                self.events.append("step.verify_failed", step=step_id, reason=result.reason)
                rec["status"] = "pending"
                self._save()
            if not self._run_step(step, rec, outcome):
                outcome.ok = False
                outcome.failed_step = step_id
                outcome.error = rec.get("error")
                return outcome
            outcome.ran.append(step_id)
        return outcome

    def _verify(self, step: Step, rec: dict) -> VerifyResult:
        try:
            inputs = InputResolver(step, self.doc, self.answers, None, True).resolve(
                self._ctx({}), lenient=True)
            result = step.verify(self._ctx(inputs), rec.get("outputs") or {})
            if not isinstance(result, VerifyResult):
                result = VerifyResult(bool(result), "" if result else "verify returned false")
        except LabwizError as exc:
            result = VerifyResult(False, exc.message)
        except Exception as exc:  # noqa: BLE001 - a broken verify must not stop the lab
            result = VerifyResult(False, f"{type(exc).__name__}: {redact(str(exc))}")
        if result.ok:
            rec["verified_at"] = now_iso()
        return result

    def _run_step(self, step: Step, rec: dict, outcome: Outcome) -> bool:
        resolver = InputResolver(step, self.doc, self.answers, self.prompter, self.assume_yes)
        try:
            inputs = resolver.resolve(self._ctx({}))
        except InputError:
            raise  # the user's input is wrong: nothing was done, nothing is lost
        except Exception as exc:  # noqa: BLE001 - a default that needed a service failed
            rec.update(status="failed", finished_at=now_iso(), error=self._error_record(exc))
            self._save()
            self.events.append("step.failed", step=step.id, **rec["error"])
            return False
        resolver.remember(inputs)
        rec.update(status="running", started_at=now_iso(), attempts=rec.get("attempts", 0) + 1)
        rec.pop("error", None)
        self._save()
        self.events.append("step.started", step=step.id, attempt=rec["attempts"])
        reporter = _StepReporter(self.reporter, step.id, self.state_dir / "commands")
        started = time.monotonic()
        try:
            ctx = self._ctx(inputs)
            self._reconcile(ctx, reporter, step.id)
            outputs = step.run(ctx, reporter) or {}
        except StepDeclined as exc:
            # the learner said no: recorded as a choice (skipped, declined), the run goes on
            rec.update(status="skipped", declined=True, finished_at=now_iso(),
                       duration_s=round(time.monotonic() - started, 3),
                       note={"message": redact(exc.message),
                             "remediation": carry(redact(exc.remediation), self.resume_command)})
            self._save()
            self.events.append("step.declined", step=step.id)
            return True
        except KeyboardInterrupt:
            rec.update(status="failed", finished_at=now_iso(),
                       error={"type": "Interrupted", "message": "Stopped by the user.",
                              "remediation": f"Run '{self.resume_command}' to resume."})
            self._save()
            self.events.append("step.interrupted", step=step.id)
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then reported
            rec.update(status="failed", finished_at=now_iso(),
                       duration_s=round(time.monotonic() - started, 3),
                       error=self._error_record(exc))
            self._save()
            self.events.append("step.failed", step=step.id, **rec["error"])
            log.error("step %s failed: %s", step.id, redact(traceback.format_exc()))
            return False
        rec.update(status="done", finished_at=now_iso(), outputs=outputs,
                   duration_s=round(time.monotonic() - started, 3), verified_at=now_iso())
        self._save()
        self.events.append("step.done", step=step.id, duration_s=rec["duration_s"])
        return True

    @staticmethod
    def _reconcile(ctx: Context, reporter: Reporter, step_id: str) -> None:
        """Settle the intents this step left when its process died between a create and its
        record: each becomes created (it exists, so cleanup will remove it) or abandoned."""
        from wizard.cleanup.reconcile import pending, reconcile

        if pending(ctx, step_id):
            reconcile(ctx, reporter, step_id)

    def _error_record(self, exc: BaseException) -> dict:
        from wizard.diagnose import translate

        exc = translate(exc) or exc
        if isinstance(exc, LabwizError):
            # the exit code travels with the record: an unreachable service exits 5, not 1
            return {"type": type(exc).__name__, "message": redact(exc.message),
                    "remediation": carry(redact(exc.remediation), self.resume_command),
                    "exit_code": int(exc.exit_code)}
        log_path = self.state_dir / "labwiz.log"
        return {"type": type(exc).__name__, "message": redact(str(exc)) or type(exc).__name__,
                "remediation": carry("This was not expected. The log file has the details "
                                     f"({log_path}); 'labwiz doctor' checks the usual causes.",
                                     self.resume_command)}

    # -- reset ---------------------------------------------------------------------------------
    def reset(self, to_step: str | None = None) -> list[str]:
        """Make ``to_step`` and every later step pending again (all steps when None).

        Inputs and the ledger are kept: the ledger is what cleanup needs to find what exists.
        """
        if to_step:
            parse_step_list(to_step, self.ids)
        with StateLock(self.state_dir):
            self.doc = self.store.load()
            start = self.ids.index(to_step) if to_step else 0
            reset = []
            for step_id in self.ids[start:]:
                if step_id in self.doc["steps"]:
                    attempts = self.doc["steps"][step_id].get("attempts", 0)
                    self.doc["steps"][step_id] = {"status": "pending", "attempts": attempts}
                    reset.append(step_id)
            self._save()
            self.events.append("state.reset", to=to_step or self.ids[0], steps=reset)
            return reset


def explain(steps: list[Step], state_dir: Path, target: Target, answers: dict, *,
            from_step: str | None = None, only=None, skip=None) -> list[tuple[Step, list[Command]]]:
    """Each chosen step's equivalent commands, computed without touching any service or the state.

    ``from_step``, ``only`` and ``skip`` choose the steps as they do for a run.
    """
    chosen = set(make_plan([s.id for s in steps], from_step=from_step, only=only, skip=skip).run)
    doc = StateStore(state_dir).load() if (Path(state_dir) / "state.json").exists() else {
        "steps": {}, "inputs": {}, "ledger": [], "lineage": "explain"}
    out = []
    for step in steps:
        if step.id not in chosen:
            continue
        inputs = InputResolver(step, doc, answers, None, True).resolve(None, lenient=True)
        ctx = Context(state_dir=state_dir, doc=doc, ledger=Ledger(doc, lambda: None), target=target,
                      inputs=inputs, confirm=lambda _q: False, assume_yes=True, explain=True)
        out.append((step, step.commands(ctx)))
    return out

