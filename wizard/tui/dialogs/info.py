"""An information dialog: a title and any Rich renderable or text, closed with a key."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class InfoDialog(ModalScreen[None]):
    """Shows a message (e.g. doctor's results, or that a feature is not available yet)."""

    #: Close takes the focus so Enter dismisses. Textual applies it after compose and finds
    #: nothing (rather than raising) when the dialog is dismissed before it was mounted.
    AUTO_FOCUS = "#close"

    BINDINGS = [Binding("escape", "dismiss_dialog", "Close")]

    def __init__(self, title: str, body: Any) -> None:
        """Keep the title and the body."""
        super().__init__(classes="dialog")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        """Title, scrollable body, and a Close button."""
        with Vertical(id="dialog-box"):
            yield Label(self.title_text, id="dialog-title", markup=False)
            with VerticalScroll(id="dialog-body"):
                yield Static(self.body, markup=False) if isinstance(self.body, str) else Static(self.body)
            with Horizontal(id="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close."""
        event.stop()
        self.dismiss(None)

    def action_dismiss_dialog(self) -> None:
        """Close from the keyboard."""
        self.dismiss(None)
