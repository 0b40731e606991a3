"""Dialogs that answer the runner's questions: one input value, or a yes/no confirmation."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from wizard.protocol import InputSpec
from wizard.tui.model import input_display


class PromptDialog(ModalScreen[Any]):
    """Asks for one input; dismisses with the typed value, or ``None`` when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    #: the field takes the focus (applied after compose; nothing when dismissed before that)
    AUTO_FOCUS = "#answer"

    def __init__(self, spec: InputSpec, default: Any = None, error: str | None = None,
                 choices: list | None = None, blink: bool = True) -> None:
        """Keep the question and how to ask it."""
        super().__init__(classes="dialog")
        self.spec = spec
        self.default = default
        self.error = error
        self.choices = choices or []
        self.blink = blink

    def compose(self) -> ComposeResult:
        """The question, its help, the last error, the field and the buttons."""
        with Vertical(id="dialog-box"):
            yield Label(escape(self.spec.prompt), id="dialog-title")
            if self.spec.help:
                yield Static(escape(self.spec.help), classes="help")
            if self.error:
                yield Static(escape(self.error), classes="field-error")
            if self.choices:
                options = [(str(c), c) for c in self.choices]
                yield Select(options, value=self.default if self.default in self.choices else Select.BLANK,
                             id="answer")
            else:
                field = Input(value=input_display(self.default), password=self.spec.secret,
                              placeholder=self.spec.name, id="answer")
                field.cursor_blink = self.blink
                yield field
            with Horizontal(id="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def _value(self) -> Any:
        """The field's current answer (None for an empty choice)."""
        field = self.query_one("#answer")
        if isinstance(field, Select):
            return None if field.value is Select.BLANK else field.value
        return field.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the field answers."""
        event.stop()
        self.dismiss(self._value())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """OK answers; Cancel gives None."""
        event.stop()
        self.dismiss(self._value() if event.button.id == "ok" else None)

    def action_cancel(self) -> None:
        """Escape cancels."""
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; dismisses with True or False."""

    # Only Escape answers from the keyboard (no): letters mean other things on the main screen
    # ("c" copies, "n" is the demo's next step), and a letter meant for that must never answer
    # yes here. Yes takes the button: Tab to it and Enter, or a click.
    BINDINGS = [Binding("escape", "answer(False)", "No")]
    #: No takes the focus: a change needs a deliberate yes
    AUTO_FOCUS = "#no"

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        """Keep the question and how to ask it."""
        super().__init__(classes="dialog")
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        """The question and two buttons."""
        with Vertical(id="dialog-box"):
            yield Label("Please confirm", id="dialog-title")
            yield Static(escape(self.question), id="confirm-question")
            with Horizontal(id="dialog-buttons"):
                yield Button(self.yes, id="yes", variant="primary")
                yield Button(self.no, id="no")
            yield Static("Tab moves between the buttons, Enter answers, Escape says no.",
                         classes="help")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button."""
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        """Answer from the keyboard."""
        self.dismiss(value)
