"""The app's actions (key bindings and command-palette entries) and the runner work behind them.

A mixin of :class:`wizard.tui.app.LabwizApp`, split out to keep each module small. Methods whose
names end in ``_work`` run on a worker thread and touch no widget.
"""

from __future__ import annotations

from functools import partial

from wizard.tui import dialogs, model, work
from wizard.tui.bridge import TuiReporter, state_listener


class ActionsMixin:
    """Run, retry, skip, reset, doctor, bundle, copy, quit, and the autopilot's keys."""

    # -- run -----------------------------------------------------------------------------------
    def action_run(self) -> None:
        """Run the current step."""
        self.start_run(self.current)

    def start_run(self, step_id: str) -> None:
        """Run ``step_id`` in a worker, if nothing else runs and the earlier steps are finished."""
        if self.busy:
            self.notify(f"'{self.busy}' is still running; wait for it to finish.", severity="warning")
            return
        if self.target is None:
            self.pending_run = step_id
            self.notify("Still connecting to the target; the step starts as soon as it is ready.")
            return
        blocker = model.blocking_step(self.doc, self.ids, step_id)
        if blocker:
            status = model.step_record(self.doc, blocker).get("status", "pending")
            self.hold_autopilot(f"'{blocker}' must be done first")
            self.push_screen(dialogs.ErrorDialog(
                "Not yet", f"'{self.by_id[step_id].title}' needs '{self.by_id[blocker].title}' "
                f"first, and that step is {status}.",
                f"Run '{self.by_id[blocker].title}' first, or skip it (s) if you did it another way.",
                model.reproduce_command(self.obj, None), can_retry=False))
            return
        self.select(step_id)
        # the form's values, when the form is built and shows this step (else the saved inputs)
        form = self.main.query("#form").first() if self.main.panes_built else None
        values = form.values() if form is not None and form.ready and form.step_id == step_id \
            and self.autopilot is None else None
        self.main.when_built(lambda: self.main.query_one("#progress").clear())
        rec = model.step_record(self.doc, step_id)
        self.main.write_log(f"── {self.by_id[step_id].title} (attempt {rec.get('attempts', 0) + 1})", "success")
        self.switched = set()
        self.reported[step_id] = []
        self.main.switch_tab("log")
        if self.autopilot is not None:
            title = self.by_id[step_id].title
            self.autopilot.hold(f"running '{title}'…", running=title)
        self.launch("run", step_id, partial(self._run_work, step_id, values))

    def _runner(self, step_id: str, answers: dict):
        """A runner for one action, wired to this app's reporter, dialogs and state listener."""
        return work.make_runner(
            self.state_dir, self.steps, self.target, TuiReporter(self, step_id), answers=answers,
            prompter=self.bridge.prompter, confirm=self.bridge.confirm,
            assume_yes=self.autopilot is not None,
            resume_command=model.reproduce_command(self.obj, None), on_state=state_listener(self))

    def _run_work(self, step_id: str, values: dict | None):
        """Worker: validate the form's values (or the prefilled ones) and run one step."""
        from wizard.state import StateStore

        step = self.by_id[step_id]
        doc = StateStore(self.state_dir).load()
        if values is None:  # the autopilot, or a form not shown yet: the prefilled values
            values = work.prefill(step, doc, self.target, self.state_dir)
        answers = work.validate_form(step, values, doc, self.target, self.state_dir)
        return self._runner(step_id, answers).run(only=[step_id])

    def _skip_work(self, step_id: str):
        """Worker: mark one step skipped through the runner."""
        return self._runner(step_id, {}).run(only=[step_id], skip=[step_id])

    def _reset_work(self, step_id: str | None):
        """Worker: reset ``step_id`` and later steps (all steps when None)."""
        return self._runner(step_id or self.ids[0], {}).reset(step_id)

    def after_runner(self, action: str, step_id: str, result) -> None:
        """A run, skip or reset finished: redraw, then move on or show the failure."""
        from wizard.state import StateStore

        self.doc = StateStore(self.state_dir).load()
        self.refresh_states()
        title = self.by_id[step_id].title
        if action == "reset":
            self.notify(f"Reset {len(result)} step(s) to pending.")
            self.select(step_id)
            self.show_current()
            if self.autopilot is not None:
                # the first open step: the reset one, or an earlier one the demo catches up on
                nxt = model.first_open_step(self.doc, self.ids) or step_id
                self.autopilot.schedule(nxt, self.by_id[nxt].title)
            return
        if not result.ok:
            error = result.error or {}
            self.main.write_log(f"{title} failed: {error.get('message', '')}", "error")
            self.hold_autopilot(f"'{title}' failed")
            self.push_screen(dialogs.ErrorDialog(f"Step '{title}' failed", error.get("message", ""),
                                         error.get("remediation", ""),
                                         model.reproduce_command(self.obj, step_id)),
                             partial(self.error_closed, "run", step_id))
            return
        rec = model.step_record(self.doc, step_id)
        if action == "run" and model.shown_status(rec) == "declined":
            # the learner said no (to cleanup's deletions): a choice, said as such
            note = rec.get("note") or {}
            self.main.write_log(f"{title}: declined (your choice). {note.get('message', '')}",
                                "warning")
            if note.get("remediation"):
                self.main.write_log(note["remediation"], "warning")
            self.notify(f"{title}: declined; nothing was changed.")
        else:
            word = "skipped" if action == "skip" else "done"
            self.main.write_log(f"{title}: {word}.", "success")
            self.notify(f"{title}: {word}.")
        nxt = model.first_open_step(self.doc, self.ids)
        if nxt:
            self.select(nxt)
        else:
            self.show_current()
        if self.autopilot is not None:
            self.autopilot.schedule(nxt, self.by_id[nxt].title if nxt else "")
            self.refresh_states()

    # -- the other actions ---------------------------------------------------------------------
    def action_retry(self) -> None:
        """Run the failed step again (the current one if it failed, else the first that did)."""
        failed = [i for i in self.ids if model.shown_status(model.step_record(self.doc, i),
                                                            self.busy, i)
                  in ("failed", "interrupted")]
        if not failed:
            self.notify("No step has failed: nothing to retry.")
            return
        self.start_run(self.current if self.current in failed else failed[0])

    def action_skip(self) -> None:
        """Mark the current step skipped (for work done another way)."""
        if self.busy:
            self.notify(f"'{self.busy}' is still running.", severity="warning")
            return
        if model.step_record(self.doc, self.current).get("status") == "done":
            self.notify("This step is done; reset to here first to skip it.", severity="warning")
            return
        self.launch("skip", self.current, partial(self._skip_work, self.current))

    def action_reset_here(self) -> None:
        """After a confirmation, make the current step and every later one pending again."""
        if self.busy:
            self.notify(f"'{self.busy}' is still running.", severity="warning")
            return
        step_id = self.current

        def chosen(yes: bool | None) -> None:
            """Reset when the user confirmed."""
            if yes:
                self.launch("reset", step_id, partial(self._reset_work, step_id))

        self.push_screen(dialogs.ConfirmDialog(
            f"Make '{self.by_id[step_id].title}' and every later step pending again? Your inputs "
            "and the record of created resources are kept.", yes="Reset"), chosen)

    def action_doctor(self) -> None:
        """Run labwiz's environment checks and show the results."""
        self._optional_tool("doctor", "wizard.doctor", "Doctor", "labwiz doctor")

    def action_bundle(self) -> None:
        """Write a redacted support bundle and say where it is."""
        self._optional_tool("bundle", "wizard.bundle", "Support bundle", "labwiz bundle")

    def _optional_tool(self, action: str, module: str, title: str, command: str) -> None:
        """Run doctor or bundle in a worker, or say that this labwiz does not have it."""
        from importlib.util import find_spec

        try:
            missing = find_spec(module) is None
        except (ImportError, ValueError):
            missing = True
        if missing:
            self.push_screen(dialogs.InfoDialog(title, f"{title} is not available in this version of "
                                        f"labwiz yet. When it is, '{command}' runs it from a shell "
                                        "and this key opens its results here."))
            return
        if self.target is None:
            self.notify("Still connecting to the target; try again in a moment.")
            return
        from wizard.tui.tools import TOOL_WORK

        self.main.when_built(lambda: self.main.query_one("#progress").clear())
        self.push_screen(dialogs.WorkingDialog(action, title))
        self.run_worker(partial(TOOL_WORK[action], self.state_dir, self.target,
                                TuiReporter(self, action)),
                        name=f"{action}:", group=action, exclusive=True, thread=True,
                        exit_on_error=False)

    def show_report(self, action: str, result) -> None:
        """Show what doctor or bundle produced."""
        title = "Doctor" if action == "doctor" else "Support bundle"
        if self.working(action) is not None:
            self.switch_screen(dialogs.InfoDialog(title, result))  # the results take the dialog's place
        else:
            self.push_screen(dialogs.InfoDialog(title, result))

    def working(self, action: str):
        """The progress dialog of ``action`` when it is on top, else None."""
        screen = self.screen
        return screen if isinstance(screen, dialogs.WorkingDialog) and screen.action == action else None

    def close_working(self, action: str) -> None:
        """Take the progress dialog of ``action`` away (its results or its error follow)."""
        dialog = self.working(action)
        if dialog is not None:
            dialog.dismiss(None)

    def action_copy_commands(self) -> None:
        """Copy the current step's commands to the clipboard and to a file whose path is shown.

        The clipboard is reached with OSC 52 (Textual's ``copy_to_clipboard``), which a terminal
        may ignore without telling anyone, so the same text always goes to
        ``<state>/commands/<step>.copy.sh`` as well.
        """
        lines = self.planned.get(self.current, []) + self.reported.get(self.current, [])
        if not lines:
            self.notify("This step has no commands to copy.")
            return
        text = "\n".join(lines) + "\n"
        try:
            path = model.write_copied(self.state_dir, self.current, text)
        except OSError as exc:
            path = None
            self.notify(f"The commands could not be written to a file: {exc}", severity="warning")
        self.copy_to_clipboard(text)
        self.notify(f"Copied {len(lines)} command(s) to the clipboard (if the terminal allows it)"
                    + (f"; also written to {path}" if path else "") + ".", timeout=8)

    def action_quit_app(self) -> None:
        """Quit; while a step runs, ask first (it will be resumed next time)."""
        if not self.busy:
            # while the tabs' contents are still being mounted (just after start), quitting would
            # tear down a Select that Textual is mounting: quit as soon as they are in place
            main = self.main
            if hasattr(main, "when_settled"):
                main.when_settled(partial(self._exit_when_form_mounted, 20))
                self.set_timer(2.0, lambda: self.exit(0))  # never a quit that does not happen
            else:
                self.exit(0)
            return
        self.push_screen(dialogs.ConfirmDialog(
            f"'{self.busy}' is still running. Quit anyway? It will be run again when you resume.",
            yes="Quit"), lambda yes: self.exit(130) if yes else None)

    def _exit_when_form_mounted(self, tries: int) -> None:
        """Exit once the form is not in the middle of mounting a step's fields (tearing down a
        Select that Textual is mounting fails inside Textual): looked at every 0.1 s, ``tries``
        times at most."""
        forms = self.main.query("#form") if self.screen_stack else []
        form = forms.first() if forms else None
        if form is not None and not form.ready and tries > 0:
            self.set_timer(0.1, partial(self._exit_when_form_mounted, tries - 1))
            return
        self.exit(0)

    def action_toggle_pause(self) -> None:
        """Space: pause or resume the autopilot."""
        if self.autopilot is not None:
            self.autopilot.toggle()
            self.notify("Demo paused." if self.autopilot.paused else "Demo resumed.", timeout=3)

    def action_advance(self) -> None:
        """n: the autopilot runs the next step now."""
        if self.autopilot is not None:
            self.autopilot.advance()

    def action_tab(self, name: str) -> None:
        """1–6: show a tab of the step pane."""
        self.main.switch_tab(name)
