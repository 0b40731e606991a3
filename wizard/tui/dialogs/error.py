"""The error dialog: what went wrong, what to do, and the command that reproduces it."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ErrorDialog(ModalScreen[str]):
    """Shows an error; dismisses with ``"retry"``, ``"doctor"`` or ``"close"``."""

    #: the most likely choice takes the focus: Retry when offered (first in the DOM), else Close
    AUTO_FOCUS = "#retry, #close"

    BINDINGS = [Binding("escape", "choose('close')", "Close"),
                Binding("r", "choose('retry')", "Retry", show=False),
                # the body scrolls from the keyboard whichever button has the focus, so "What to
                # do" and "To reproduce" are reachable under a long message at 80x24
                Binding("down", "scroll_body('down')", "Scroll", show=False),
                Binding("up", "scroll_body('up')", "Scroll", show=False),
                Binding("pagedown", "scroll_body('page_down')", "Page", show=False),
                Binding("pageup", "scroll_body('page_up')", "Page", show=False),
                Binding("end", "scroll_body('end')", "End", show=False),
                Binding("home", "scroll_body('home')", "Top", show=False)]

    def __init__(self, title: str, message: str, remediation: str = "", reproduce: str = "",
                 *, can_retry: bool = True) -> None:
        """Keep what the dialog shows."""
        super().__init__(classes="dialog")
        self.title_text = title
        self.message = message
        self.remediation = remediation
        self.reproduce = reproduce
        self.can_retry = can_retry

    def compose(self) -> ComposeResult:
        """A titled box: message, remediation, reproduce command, and the buttons."""
        with Vertical(id="dialog-box", classes="error-box"):
            yield Label(escape(self.title_text), id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(escape(self.message), id="error-message")
                if self.remediation:
                    yield Static(f"[b]What to do:[/b] {escape(self.remediation)}", id="error-remediation")
                if self.reproduce:
                    yield Static(f"[b]To reproduce:[/b] {escape(self.reproduce)}", id="error-reproduce")
            yield Static("↑ ↓ PgUp PgDn End: scroll this message", id="scroll-hint",
                         classes="help")
            with Horizontal(id="dialog-buttons"):
                if self.can_retry:
                    yield Button("Retry", id="retry", variant="primary")
                yield Button("Doctor", id="doctor")
                yield Button("Close", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the button's id."""
        event.stop()
        self.dismiss(event.button.id)

    def action_scroll_body(self, how: str) -> None:
        """Scroll the dialog's body (message, what to do, how to reproduce)."""
        body = self.query_one("#dialog-body", VerticalScroll)
        getattr(body, f"scroll_{how}")(animate=False)

    def action_choose(self, choice: str) -> None:
        """Dismiss with ``choice`` (retry only when offered)."""
        if choice == "retry" and not self.can_retry:
            return
        self.dismiss(choice)
