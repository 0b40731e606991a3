"""The Textual app: ``run_app(obj)`` opens the wizard on the terminal and returns an exit code.

Every blocking call (resolving the target, prefilling a form, running, skipping or resetting a
step, doctor, bundle) runs in a thread worker; their results and errors all arrive in one place,
:meth:`LabwizApp.on_worker_state_changed`, which is the app's central error handler. The runner's
questions reach the user through :class:`wizard.tui.bridge.DialogBridge`.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.widgets import ListView
from textual.worker import Worker, WorkerState

from wizard.errors import ExitCode, LabwizError
from wizard.frontend import resume_gc
from wizard.tui import dialogs, model, work
from wizard.tui.actions import ActionsMixin
from wizard.tui.autopilot import Autopilot
from wizard.tui.bridge import DialogBridge
from wizard.tui.guard import guard_handlers, guarded
from wizard.tui.messages import ShowData, StateSaved, StepCommand, StepLog, StepProgress
from wizard.tui.screens import MainScreen

if TYPE_CHECKING:  # the form's widgets: imported when the Inputs tab is built, not for the first frame
    from textual.widgets import Button, Input

log = logging.getLogger("labwiz.tui")

#: after this many unexpected interface errors the app stops (cleanly) instead of looping on dialogs
MAX_UNEXPECTED = 5


@guard_handlers
class LabwizApp(ActionsMixin, App[int]):
    """The lab wizard. ``autopilot`` ({"pause": s, "from_step": id}) turns on the demo mode."""

    CSS_PATH = ["app.tcss", "dialogs/dialogs.tcss"]
    TITLE = "labwiz"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        # the footer shows these in this order, dropping keys from the right when the terminal
        # is narrow, except Quit (KeysFooter.KEEP)
        Binding("r", "run", "Run"),
        Binding("t", "retry", "Retry"),
        Binding("s", "skip", "Skip"),
        Binding("q", "quit_app", "Quit"),
        Binding("R", "reset_here", "Reset"),
        Binding("d", "doctor", "Doctor"),
        Binding("b", "bundle", "Bundle"),
        Binding("c", "copy_commands", "Copy"),
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True),
        Binding("space", "toggle_pause", "Pause", show=False),
        Binding("n", "advance", "Next", show=False),
        *[Binding(str(i), f"tab('{name}')", name.title(), show=False)
          for i, name in enumerate(("lesson", "inputs", "commands", "log", "monitor", "endpoint"), 1)],
    ]

    def __init__(self, obj: dict, *, autopilot: dict | None = None, blink: bool = True) -> None:
        """Load the steps and the state; nothing is drawn or started yet."""
        super().__init__()
        from wizard.registry import load_steps
        from wizard.state import StateStore

        self.obj = obj
        self.state_dir = Path(obj["state_dir"])
        self.steps = load_steps()
        self.ids = [s.id for s in self.steps]
        self.by_id = {s.id: s for s in self.steps}
        self.doc = StateStore(self.state_dir).load()
        self.blink = blink
        self.target = None
        self.current = model.first_open_step(self.doc, self.ids) or self.ids[0]
        self.busy: str | None = None
        self.runner_done: threading.Event | None = None  # set when the runner's thread returns
        self.planned: dict[str, list[str]] = {}
        self.reported: dict[str, list[str]] = {}
        self.switched: set[str] = set()
        self.unexpected = 0
        self.exit_message = ""  # why the app stopped on its own, shown after it exits
        self.ready = False  # until the main screen is up, an error stops the app (no dialog yet)
        self.pending_run: str | None = None
        self.after_first_paint: list = []  # started once the first frame is on the terminal
        self.autopilot_opts = autopilot
        self.autopilot: Autopilot | None = None
        self.bridge = DialogBridge(
            self, lambda spec, default, error: dialogs.PromptDialog(
                spec, default, error, choices=self._choices(spec), blink=self.blink),
            lambda question: dialogs.ConfirmDialog(question))

    # -- start-up ------------------------------------------------------------------------------
    @property
    def main(self) -> MainScreen:
        """The main screen (dialogs stack above it)."""
        return self.screen_stack[0]  # IndexError once the app has closed its screens

    def get_default_screen(self) -> MainScreen:
        """The main screen is the app's first screen: Textual composes, styles and lays it out
        once, in its start-up batch, instead of first drawing an empty default screen that the
        main screen then replaces (a layout and render nobody saw, a fifth of the first paint)."""
        return MainScreen(self.steps, autopilot=self.autopilot_opts is not None,
                          on_mounted=self.main_mounted, size=tuple(self.size))

    @guarded
    def main_mounted(self) -> None:
        """The main screen's widgets exist (it calls this from its own mount, which comes after
        the app's): fill them in for the first paint; then find the target and offer to resume."""
        from wizard.logsetup import setup_logging

        setup_logging(self.state_dir, False)  # never on stderr: that is the screen
        if self.autopilot_opts is not None:
            self.autopilot = Autopilot(self, self.autopilot_opts.get("pause", 3.0),
                                       self.start_run, self.main.set_autopilot)
            self.autopilot.hold("starting the sandbox…")
        self.refresh_states()
        self.main.query_one(ListView).index = self.ids.index(self.current)
        self.show_current()
        if self.obj.get("sandbox"):
            self.main.set_target("sandbox · starting (or reusing) the offline sandbox…")
            # after the first paint (the footer's keys too, see _build_panes): the worker
            # imports boto3 and the kubernetes client, in a thread that would compete with
            # painting for the interpreter
            self.after_first_paint.append(partial(
                self.run_worker, partial(work.resolve_target, self.state_dir, True),
                name="target", thread=True, exit_on_error=False))
        else:
            from wizard.target import aws_target

            self.target_ready(aws_target())
        if model.has_progress(self.doc) and self.autopilot_opts is None:
            # pushed over the painted main screen: a screen pushed while the first one is still
            # being mounted gets no layout of its own in Textual, and a click finds nothing on it
            self.after_first_paint.append(partial(
                self.push_screen,
                dialogs.ResumeDialog(model.resume_summary(self.doc, self.steps),
                                     [(s.id, f"{n}. {s.title}") for n, s in enumerate(self.steps, 1)],
                                     model.first_open_step(self.doc, self.ids)),
                self.resume_chosen))
        self.ready = True

    def on_ready(self) -> None:
        """The first frame is drawn (or about to be, as Textual sends this event just before it):
        the tabs' contents are built after the screen's next refresh, so never ahead of it."""
        self.call_after_refresh(self._build_panes)

    @guarded
    async def _build_panes(self) -> None:
        """Fill the main screen's tabs (see :meth:`MainScreen.build_panes`) once the first frame
        (the footer's keys with it) is on the terminal, and start what waited for it; the
        garbage collector paused for it starts again."""
        resume_gc()
        if not (self.screen_stack and self.is_running):
            return  # the app quit meanwhile
        while self.after_first_paint:
            self.after_first_paint.pop(0)()
        await self.main.build_panes()

    def target_ready(self, target) -> None:
        """The target is known: show it, fill the current step's form, start the autopilot."""
        self.target = target
        self.refresh_header()
        self.load_step_details(self.current)
        if self.autopilot is not None:
            from_step = self.autopilot_opts.get("from_step")
            if from_step:
                self.start_demo_at(from_step)
            else:
                self.autopilot.schedule(self.current, self.by_id[self.current].title)
        elif self.pending_run:
            step_id, self.pending_run = self.pending_run, None
            self.start_run(step_id)

    def start_demo_at(self, from_step: str) -> None:
        """``labwiz demo --from STEP``: reset STEP so it really runs, and catch up on the way.

        An instructor jumps to the step they want to show; the steps before it that are not done
        yet (all of them on a fresh lab) run first, one after another without a countdown, and
        the screen says so. The countdown starts at STEP itself.
        """
        earlier = self.ids[: self.ids.index(from_step)]
        todo = [i for i in earlier
                if model.step_record(self.doc, i).get("status") not in ("done", "skipped")]
        title = self.by_id[from_step].title
        self.autopilot.catch_up(earlier, title)
        if todo:
            names = ", ".join(f"'{self.by_id[i].title}'" for i in todo)
            note = (f"The demo starts at '{title}'. It needs {len(todo)} earlier step(s) first; "
                    f"they run now without pauses: {names}.")
            self.main.write_log(note, "success")
            self.notify(note, timeout=8)
        self.select(from_step)
        self.launch("reset", from_step, partial(self._reset_work, from_step))

    def resume_chosen(self, choice: tuple | None) -> None:
        """Act on the resume dialog: carry on, reset to a step, or start over."""
        what, step_id = choice or ("resume", None)
        if what == "reset" and step_id:
            self.launch("reset", step_id, partial(self._reset_work, step_id))
        elif what == "over":
            self.launch("reset", self.ids[0], partial(self._reset_work, None))

    # -- showing things ------------------------------------------------------------------------
    def refresh_states(self) -> None:
        """Redraw the sidebar and the header from ``self.doc``."""
        self.show_recorded_run()
        nxt = self.autopilot.next_step if self.autopilot else None
        self.main.query_one("#steps").refresh_states(self.doc, nxt, self.busy)
        step = self.by_id[self.current]
        self.main.show_step(self.ids.index(step.id) + 1, step, model.step_record(self.doc, step.id),
                            lesson=False, busy=self.busy)
        self.refresh_header()

    def show_recorded_run(self) -> None:
        """A run that finished before this session: the Monitor tab shows its final state as the
        state records it (not "no pipeline run yet"), until a live run replaces it."""
        rec = model.step_record(self.doc, "run-monitoring")
        outputs = rec.get("outputs") or {}
        if rec.get("status") != "done" or not outputs.get("run_id"):
            return
        try:
            main = self.main
        except IndexError:  # no screen: the app is closing
            return
        main.when_built(self._show_recorded_run, outputs)

    def _show_recorded_run(self, outputs: dict) -> None:
        """Draw the recorded run on the Monitor tab (see :meth:`show_recorded_run`)."""
        found = self.main.query("#monitor")
        if not found:
            return
        monitor = found.first()
        if monitor.live:
            return
        spec_tasks = None
        if not outputs.get("tasks"):  # recorded by an older labwiz: the pipeline's own tasks
            spec_tasks = _pipeline_tasks(model.step_record(self.doc, "compile").get("outputs") or {})
        monitor.show_finished(outputs, spec_tasks)

    def refresh_header(self) -> None:
        """Redraw the target line."""
        info = self.target.describe() if self.target is not None else {}
        if self.target is not None and self.target.is_sandbox:
            info["cluster"] = self.target.sandbox.get("cluster_name") or info.get("cluster")
        self.main.set_target(model.target_line(self.doc, info) if self.target is not None or not
                             self.obj.get("sandbox") else "sandbox · starting…")

    def select(self, step_id: str) -> None:
        """Make ``step_id`` the current step (the sidebar's highlight follows)."""
        self.main.query_one("#steps").select_step(step_id)
        if self.current != step_id:
            self.current = step_id
            self.show_current()
            self.load_step_details(step_id)

    def show_current(self) -> None:
        """Show the current step's title, lesson, form fields and known commands."""
        step = self.by_id[self.current]
        rec = model.step_record(self.doc, step.id)
        self.main.show_step(self.ids.index(step.id) + 1, step, rec)
        choices = {s.name: self._choices(s) for s in step.input_specs()}
        self.main.when_built(self._build_form, step, choices)
        self.show_commands()

    async def _build_form(self, step, choices: dict[str, list]) -> None:
        """Give the form the fields of ``step`` (see :meth:`InputForm.build`); none when the
        screen is already being taken down (a quit just after the start)."""
        for form in self.main.query("#form"):
            await form.build(step.id, step.input_specs(), choices, self.blink)

    def show_commands(self) -> None:
        """Redraw the commands tab for the current step."""
        plan, ran = model.commands_paths(self.state_dir, self.current)
        self.main.show_commands(self.planned.get(self.current, []), self.reported.get(self.current, []),
                                (plan, ran))

    def load_step_details(self, step_id: str) -> None:
        """Prefill the form and work out the commands in a worker (defaults may be slow)."""
        if self.target is None:
            return
        self.run_worker(partial(self._details_work, step_id), name=f"details:{step_id}",
                        group="details", thread=True, exclusive=True, exit_on_error=False)

    def _details_work(self, step_id: str):
        """Worker: the step's prefilled values and its planned commands."""
        step = self.by_id[step_id]
        values = work.prefill(step, self.doc, self.target, self.state_dir)
        commands, _ = work.planned_commands(step, self.doc, self.target, self.state_dir)
        return values, commands

    def _choices(self, spec) -> list:
        """The choices of an input for the form (empty: free text)."""
        try:
            return spec.choices_for(work.explain_context(self.state_dir, self.doc, self.target))
        except Exception:  # noqa: BLE001 - choices that need a service fall back to free text
            return []

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        """The sidebar moved: show that step."""
        if event.item is not None and getattr(event.item, "step_id", None) != self.current:
            self.current = event.item.step_id
            self.show_current()
            self.load_step_details(self.current)

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        """Enter on a step opens its inputs."""
        self.main.switch_tab("inputs")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The form's Run button."""
        if event.button.id == "run-step":
            self.action_run()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the form's last field runs the step."""
        form = self.main.query_one("#form")
        shown = form.shown_names()
        if shown and event.input.id == f"in-{shown[-1]}":
            self.action_run()

    # -- messages from the runner's thread -----------------------------------------------------
    def on_step_log(self, message: StepLog) -> None:
        """A log line from a step (or from doctor or bundle: their progress dialog shows it)."""
        self.main.write_log(message.text, message.level)
        dialog = self.working(message.step_id)
        if dialog is not None:
            dialog.line(message.text)

    def on_step_progress(self, message: StepProgress) -> None:
        """A progress update from a step (or from doctor or bundle)."""
        self.main.when_built(lambda: self.main.query_one("#progress").update_task(
            message.task, message.done, message.total))
        dialog = self.working(message.step_id)
        if dialog is not None:
            dialog.progress(message.done, message.total, message.task)

    def on_step_command(self, message: StepCommand) -> None:
        """An equivalent command the step just ran."""
        self.reported.setdefault(message.step_id, []).append(message.line)
        self.main.write_log(f"$ {message.line}", "command")
        if message.step_id == self.current:
            self.show_commands()

    def on_show_data(self, message: ShowData) -> None:
        """A structured view: graph and resources go to Monitor, digits to Endpoint."""
        if message.kind in ("graph", "resources"):
            self.main.when_built(lambda: self.main.query_one("#monitor").show(message.kind,
                                                                                message.data))
            self._switch_once("monitor")
        elif message.kind == "digits":
            self.main.when_built(lambda: self.main.query_one("#endpoint").show(message.data))
            self._switch_once("endpoint")
        else:
            from wizard.views import render

            renderable = render(message.kind, message.data)
            if renderable is not None:
                self.main.write_renderable(renderable)

    def _switch_once(self, tab: str) -> None:
        # only once per run, so a learner who moves to another tab is not pulled back
        """Show ``tab`` the first time its data arrives in a run."""
        if tab not in self.switched:
            self.switched.add(tab)
            self.main.switch_tab(tab)

    def on_state_saved(self, message: StateSaved) -> None:
        """The runner saved the state: redraw the sidebar and header."""
        self.doc = message.doc
        self.refresh_states()

    # -- the central worker handler ------------------------------------------------------------
    def launch(self, action: str, step_id: str, fn) -> None:
        """Run a runner action in a thread worker (one at a time)."""
        self.busy = step_id
        done = self.runner_done = threading.Event()

        def job():
            """The action, marking on its own thread when it is over (see :func:`run_app`)."""
            try:
                return fn()
            finally:
                done.set()

        self.run_worker(job, name=f"{action}:{step_id}", group="runner", thread=True,
                        exit_on_error=False)

    def still_running(self) -> str | None:
        """The step whose runner thread has not returned yet, or None.

        ``busy`` is cleared when the worker's result reaches the app; an app that exits (quit, or
        stopped by errors) may never read that message although the thread has finished.
        """
        if self.busy and self.runner_done is not None and not self.runner_done.is_set():
            return self.busy
        return None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's result or error arrives here.

        Only the message's own state counts: the PENDING and RUNNING messages of a quick worker
        can be read after it has finished, when ``worker.state`` already says SUCCESS, and acting
        on them would handle one result two or three times (two error dialogs for one failure,
        or the autopilot starting a step twice).
        """
        worker, state = event.worker, event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        action, _, step_id = (worker.name or "").partition(":")
        if worker.group == "runner":
            self.busy = None
        if state == WorkerState.CANCELLED:
            return
        if state == WorkerState.ERROR:
            if action in ("doctor", "bundle"):
                self.close_working(action)
            self.handle_error(worker.error, step_id or None, action)
            return
        result = worker.result
        if action == "target":
            self.target_ready(result)
        elif action == "details":
            values, commands = result
            self.planned[step_id] = commands
            self.main.when_built(lambda: self.main.query_one("#form").fill(step_id, values))
            if step_id == self.current:
                self.show_commands()
        elif action in ("run", "skip", "reset"):
            self.after_runner(action, step_id, result)
        elif action in ("doctor", "bundle"):
            self.show_report(action, result)

    def handle_error(self, exc: BaseException | None, step_id: str | None, action: str = "") -> None:
        """Show any error as a dialog: explained errors with their remediation, others as bugs."""
        if isinstance(exc, work.FormInvalid):
            self.main.switch_tab("inputs")
            self.main.when_built(lambda: self.main.query_one("#form").show_errors(exc.errors))
            self.notify(exc.message, severity="error")
            self.hold_autopilot("an input needs fixing")
            return
        reproduce = model.reproduce_command(self.obj, step_id if action == "run" else None)
        if isinstance(exc, LabwizError):
            title, message, remedy = "Cannot continue", exc.message, exc.remediation
        else:
            log.error("unexpected error in %s", action or "the interface", exc_info=exc)
            title = "Unexpected error"
            message = f"{type(exc).__name__}: {exc}"
            remedy = (f"This was not expected. The log has the details ({self.state_dir / 'labwiz.log'}); "
                      "'labwiz doctor' checks the usual causes.")
        from wizard.secrets import redact

        self.hold_autopilot("stopped by an error")
        retry = step_id if action in ("run", "target") else None
        self.push_screen(dialogs.ErrorDialog(title, redact(message), redact(remedy), reproduce,
                                     can_retry=retry is not None),
                         partial(self.error_closed, action, retry))

    def error_closed(self, action: str, step_id: str | None, choice: str | None) -> None:
        """Retry, run doctor, or just close."""
        if choice == "retry" and action == "target":
            self.run_worker(partial(work.resolve_target, self.state_dir, True), name="target",
                            thread=True, exit_on_error=False)
        elif choice == "retry" and step_id:
            self.start_run(step_id)
        elif choice == "doctor":
            self.action_doctor()

    def report_unexpected(self, error: Exception) -> None:
        """An exception escaped a handler (see :mod:`wizard.tui.guard`): show it in a dialog;
        after too many, stop cleanly.

        Never Textual's default (a traceback on the screen): before the main screen is up, or after
        :data:`MAX_UNEXPECTED` errors, or when the dialog itself cannot be shown, the app exits
        with a short message, the command to resume and the log file that has the traceback.
        """
        if self.return_code is not None or not self.is_running:
            # leaving already (a late worker result finds no screen): nothing to show any more
            log.warning("error while labwiz was closing", exc_info=error)
            return
        self.unexpected += 1
        if self.ready and self.unexpected <= MAX_UNEXPECTED:
            try:
                self.handle_error(error, None, "interface")
                return
            except Exception as dialog_error:  # noqa: BLE001 - the dialog failed too: stop
                log.error("the error dialog could not be shown", exc_info=dialog_error)
        self.stop_after_errors(error)

    def stop_after_errors(self, error: BaseException) -> None:
        """Log ``error`` with its traceback, then exit with a message saying how to carry on."""
        if self.return_code is not None:
            return  # already leaving (several errors can arrive while the app shuts down)
        from rich.text import Text

        from wizard.secrets import redact

        try:  # the log may not be set up yet when the error came before the first screen
            if not any(getattr(h, "_labwiz", False) for h in logging.getLogger().handlers):
                from wizard.logsetup import setup_logging

                setup_logging(self.state_dir, False)
            log.error("labwiz stops after an unexpected error (%d so far)", self.unexpected,
                      exc_info=error)
        except Exception:  # noqa: BLE001 - no log file: the message below still says what to do
            pass
        why = (f"{self.unexpected} unexpected errors" if self.unexpected > 1
               else "an unexpected error")
        self.exit_message = redact(
            f"labwiz stopped after {why} in its interface (the last: {type(error).__name__}: "
            f"{error}).\nThe details are in {self.state_dir / 'labwiz.log'}. Your lab's state is "
            f"saved; to carry on, run: {model.relaunch_command(self.obj, self.autopilot_opts)}\n"
            "'labwiz doctor' checks the usual causes.")
        self.exit(return_code=ExitCode.STEP_FAILED, message=Text(self.exit_message))

    def hold_autopilot(self, why: str) -> None:
        """Stop the autopilot's countdown (when there is one)."""
        if self.autopilot is not None:
            self.autopilot.hold(f"{why}. Fix it, then press t to retry.")

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        """Command-palette entries for the wizard's actions, then Textual's own."""
        yield SystemCommand("Run step", "Run the current step", self.action_run)
        yield SystemCommand("Retry", "Run the failed step again", self.action_retry)
        yield SystemCommand("Skip step", "Mark the current step skipped", self.action_skip)
        yield SystemCommand("Reset to here", "Make this and later steps pending", self.action_reset_here)
        yield SystemCommand("Doctor", "Check the environment for known problems", self.action_doctor)
        yield SystemCommand("Support bundle", "Write a redacted support bundle", self.action_bundle)
        yield SystemCommand("Copy commands", "Copy the step's equivalent commands", self.action_copy_commands)
        yield SystemCommand("Quit", "Leave labwiz (the lab resumes next time)", self.action_quit_app)
        yield from super().get_system_commands(screen)


def run_app(obj: dict, *, autopilot: dict | None = None) -> int:
    """Run the TUI until the user quits; return the exit code (explained errors print, no traceback)."""
    # Textual sizes the screen with shutil.get_terminal_size(), which believes COLUMNS and LINES
    # over the terminal: an exported value would freeze the layout at that size on every resize
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    try:
        app = LabwizApp(obj, autopilot=autopilot)
    except LabwizError as exc:
        from wizard.session import fail

        resume_gc()
        return fail(exc)
    try:
        code = app.run()
    finally:
        resume_gc()  # when the app ended before its first frame
        app.bridge.close()
    running = app.still_running()
    if running:
        # a step was still running: its thread cannot be stopped, so leave now; the state says
        # 'running' and the next start records it as interrupted and runs it again
        print(f"labwiz quit while '{running}' was running; it runs again when you resume.",
              file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.INTERRUPTED)
    if app.return_code:
        return app.return_code
    return code if isinstance(code, int) else ExitCode.OK


def _pipeline_tasks(compiled: dict) -> list[dict]:
    """The tasks of the compiled pipeline the compile step recorded (none when unreadable)."""
    path = compiled.get("yaml_path") or compiled.get("package_path")
    if not path:
        return []
    try:
        from wizard.kfp_ops.monitor import task_graph
        from wizard.kfp_ops.package import read_spec

        graph = task_graph(read_spec(path))
    except Exception:  # noqa: BLE001 - a missing or changed file: the run's state alone
        return []
    return [{"name": name, "depends_on": deps} for name, deps in graph.items()]
