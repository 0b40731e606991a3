"""The resume dialog: where the lab stands, and whether to resume, reset to a step, or start over."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static


class ResumeDialog(ModalScreen[tuple]):
    """Dismisses with ``("resume", None)``, ``("reset", step_id)`` or ``("over", None)``."""

    #: Resume is the usual choice
    AUTO_FOCUS = "#resume"

    BINDINGS = [Binding("escape", "resume", "Resume")]

    def __init__(self, summary: str, steps: list[tuple[str, str]], next_step: str | None) -> None:
        """Keep the summary, the steps (id, label) and the next step."""
        super().__init__(classes="dialog")
        self.summary = summary
        self.steps = steps
        self.next_step = next_step

    def compose(self) -> ComposeResult:
        """The summary, a step chooser for reset, and the three choices."""
        with Vertical(id="dialog-box"):
            yield Label("Welcome back", id="dialog-title")
            yield Static(escape(self.summary), id="resume-summary")
            yield Select([(title, step_id) for step_id, title in self.steps], prompt="Reset to step…",
                         value=self.next_step or self.steps[0][0], id="reset-step", allow_blank=False)
            with Horizontal(id="dialog-buttons"):
                yield Button("Resume", id="resume", variant="primary")
                yield Button("Reset to step", id="reset")
                yield Button("Start over", id="over", variant="warning")
            yield Static("Resetting keeps your inputs and the record of created resources, so "
                         "cleanup still finds them.", classes="help")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the choice (and the chosen step for a reset)."""
        event.stop()
        if event.button.id == "reset":
            self.dismiss(("reset", self.query_one("#reset-step", Select).value))
        else:
            self.dismiss((event.button.id, None))

    def action_resume(self) -> None:
        """Escape resumes: nothing is changed."""
        self.dismiss(("resume", None))
