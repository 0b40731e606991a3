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

    def on_mount(self) -> None:
        """Focus Close so Enter dismisses (once it is there: on a loaded machine the dialog may
        mount before its buttons, seen as NoMatches in the TUI tools test)."""
        found = self.query("#close")
        if found:
            found.first().focus()
        else:
            self.call_after_refresh(self._focus_close)

    def _focus_close(self) -> None:
        """Focus Close when it has been mounted."""
        for button in self.query("#close"):
            button.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Close."""
        event.stop()
        self.dismiss(None)

    def action_dismiss_dialog(self) -> None:
        """Close from the keyboard."""
        self.dismiss(None)
