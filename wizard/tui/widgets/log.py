"""The live log of the step pane: a ``RichLog`` that wraps lines at the width it really has."""

from __future__ import annotations

from textual import events
from textual.widgets import RichLog


class PaneLog(RichLog):
    """Wraps at the pane's width, including lines written while the Log tab is hidden.

    ``RichLog`` wraps a line once, when it is written, at the width it has then. A hidden tab has
    no width, so a line written meanwhile (a step narrating while the learner reads the lesson)
    would be wrapped at ``min_width`` instead: far too narrow in a wide terminal, or clipped behind a
    horizontal scroll at the default 78 in an 80×24 one. Such lines wait here until the tab shows.
    """

    def __init__(self, **kwargs) -> None:
        """A wrapping log (``min_width`` small: the pane at 80×24 is narrower than the default)."""
        kwargs.setdefault("wrap", True)
        kwargs.setdefault("min_width", 20)
        super().__init__(**kwargs)
        self._held: list[tuple[object, bool]] = []

    def write(self, content, width=None, expand=False, shrink=True, scroll_end=None,
              animate=False):
        """Write ``content`` now if the log has a width, else when it is next shown."""
        if self.size.width == 0 and width is None:
            self._held.append((content, expand))
            return self
        return super().write(content, width, expand, shrink, scroll_end, animate)

    def on_resize(self, event: events.Resize) -> None:
        """Shown again (or for the first time): write what waited, in order."""
        if event.size.width and self._held:
            held, self._held = self._held, []
            for content, expand in held:
                super().write(content, expand=expand)

    def clear(self):
        """Forget the lines on show and those waiting."""
        self._held = []
        return super().clear()

    @property
    def plain_text(self) -> str:
        """Every line as plain text, those still waiting included (for tests and copying)."""
        from rich.text import Text

        shown = [strip.text for strip in self.lines]
        waiting = [c.plain if isinstance(c, Text) else str(c) for c, _ in self._held]
        return "\n".join(shown + waiting)
