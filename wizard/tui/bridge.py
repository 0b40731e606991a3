"""The bridge between the runner's worker thread and the app.

:class:`TuiReporter` turns ``Reporter`` calls into messages. :class:`DialogBridge` gives the runner
its ``prompter`` and ``confirm``: they are called on the worker thread, so each one asks the app (on
its own thread, through ``call_from_thread``) to open a dialog, then waits on a
:class:`threading.Event` that the dialog's result sets. Closing the app releases every waiter.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Callable

from wizard.errors import InputError
from wizard.protocol import Command, InputSpec
from wizard.secrets import redact
from wizard.tui.messages import ShowData, StateSaved, StepCommand, StepLog, StepProgress


class TuiReporter:
    """A :class:`wizard.protocol.Reporter` that posts to the app; safe to call from any thread."""

    def __init__(self, app, step_id: str) -> None:
        """Keep the app (and the dialog factories)."""
        self.app = app
        self.step_id = step_id

    def log(self, message: str, level: str = "info") -> None:
        """Post a log line."""
        self.app.post_message(StepLog(self.step_id, redact(str(message)), level))

    def progress(self, task: str, done: float, total: float | None = None, unit: str = "") -> None:
        """Post a progress update."""
        self.app.post_message(StepProgress(self.step_id, task, done, total, unit))

    def command(self, command: Command) -> None:
        """Post an equivalent command (already redacted by the engine's wrapper; redacted again)."""
        self.app.post_message(StepCommand(self.step_id, redact(command.shell())))

    def show(self, kind: str, data: Any) -> None:
        """Post a structured view; the data is copied so the step may keep changing its own."""
        self.app.post_message(ShowData(self.step_id, kind, copy.deepcopy(data)))


def state_listener(app) -> Callable[[dict], None]:
    """An ``on_state`` callback that posts a copy of each saved document."""
    return lambda doc: app.post_message(StateSaved(copy.deepcopy(doc)))


class DialogBridge:
    """``prompter`` and ``confirm`` for a runner on a worker thread, answered by dialogs."""

    def __init__(self, app, prompt_factory: Callable, confirm_factory: Callable) -> None:
        """Keep the app (and the dialog factories)."""
        self.app = app
        self.prompt_factory = prompt_factory
        self.confirm_factory = confirm_factory
        self._waiting: set[threading.Event] = set()
        self._closed = False
        self._guard = threading.Lock()

    def _ask(self, make_screen: Callable[[], Any]) -> Any:
        """Open a dialog on the app's thread and block this worker thread until it is answered."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def answered(value: Any) -> None:
            """The dialog's result callback (app thread): hand the value over and wake the worker."""
            box["value"] = value
            done.set()

        def open_dialog() -> None:
            """Push the dialog (runs on the app's thread)."""
            self.app.push_screen(make_screen(), answered)

        with self._guard:
            if self._closed:
                raise InputError("labwiz is closing; the question was not answered.",
                                 remediation="Start labwiz again to carry on.")
            self._waiting.add(done)
        try:
            self.app.call_from_thread(open_dialog)
            # an app that exits without answering (or without calling close) must not leave this
            # worker waiting forever: that would hang the process's shutdown
            while not done.wait(0.5):
                if self._closed or not self.app.is_running:
                    break
        finally:
            with self._guard:
                self._waiting.discard(done)
        if "value" not in box:
            raise InputError("labwiz closed while waiting for an answer.",
                             remediation="Start labwiz again to carry on.")
        return box["value"]

    def prompter(self, spec: InputSpec, default: Any, error: str | None) -> Any:
        """Ask for one input in a dialog; Cancel gives ``None`` (the runner then stops)."""
        value = self._ask(lambda: self.prompt_factory(spec, default, error))
        if value is None and spec.required:
            raise InputError(f"'{spec.name}' was not given.",
                             remediation="Run the step again and fill in the field.", field=spec.name)
        return value

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question in a dialog."""
        return bool(self._ask(lambda: self.confirm_factory(question)))

    def close(self) -> None:
        """Release every thread waiting for an answer (the app is exiting)."""
        with self._guard:
            self._closed = True
            waiting = list(self._waiting)
        for event in waiting:
            event.set()
