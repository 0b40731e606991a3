"""The progress dialog of a long action (doctor, support bundle): what runs, how far it is, the
latest thing it did; the results replace it when the action finishes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, Static


class WorkingDialog(ModalScreen[None]):
    """Shown while ``action`` runs; the app updates it and dismisses it with the results."""

    def __init__(self, action: str, title: str) -> None:
        """Keep which action this dialog follows."""
        super().__init__(classes="dialog")
        self.action = action
        self.title_text = title

    def compose(self) -> ComposeResult:
        """The title, a bar, and the latest line."""
        with Vertical(id="dialog-box"):
            yield Label(f"{self.title_text} is running…", id="dialog-title", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="working-bar")
            yield Static("Starting…", id="working-line", markup=False)
            yield Static("Its results open here when it finishes; Escape hides this (it keeps "
                         "running).", classes="help")

    BINDINGS = [("escape", "hide", "Hide")]

    def progress(self, done: float, total: float | None, task: str) -> None:
        """Move the bar and say what is being done."""
        self.query_one("#working-bar", ProgressBar).update(total=total, progress=done)
        self.query_one("#working-line", Static).update(
            f"{task}: {done:g}/{total:g}" if total else task)

    def line(self, text: str) -> None:
        """The latest thing the action reported."""
        self.query_one("#working-line", Static).update(text)

    def action_hide(self) -> None:
        """Hide the dialog; the action carries on and its results still open."""
        self.dismiss(None)
