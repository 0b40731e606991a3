"""The headless front-end: a rich reporter for ``labwiz run`` in a terminal, a CI log or a pipe.

It prints log lines, the equivalent commands, and progress bars (rich falls back to plain lines when
the output is not a terminal, so a CI log stays readable). It never asks anything.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from wizard.protocol import Command
from wizard.secrets import redact

_STYLES = {"success": "green", "warning": "yellow", "error": "bold red", "debug": "dim"}


class HeadlessReporter:
    """Reports a run on a rich console."""

    def __init__(self, console: Console | None = None, show_commands: bool = True):
        self.console = console or Console(highlight=False)
        self.show_commands = show_commands
        self._progress = None
        self._tasks: dict[str, Any] = {}
        self._announced: set[str] = set()
        #: the last printed view of each kind, without its live parts (see views.without_live)
        self._last_views: dict[str, Any] = {}

    def log(self, message: str, level: str = "info") -> None:
        """Print one line, coloured by level."""
        self._pause()
        style = _STYLES.get(level, "")
        text = escape(redact(message))
        # soft wrap: a long line (a path, an ARN) stays whole, so it can be copied
        self.console.print(f"[{style}]{text}[/]" if style else text, soft_wrap=True)

    def command(self, command: Command) -> None:
        """Print the equivalent command, dimmed, prefixed with ``$``."""
        if not self.show_commands:
            return
        self._pause()
        for i, line in enumerate(redact(command.shell()).splitlines()):
            self.console.print(f"[cyan]{'$' if i == 0 else ' '} {escape(line)}[/]", soft_wrap=True)

    def progress(self, task: str, done: float, total: float | None = None, unit: str = "") -> None:
        """Show or update a progress bar for ``task``; it disappears when complete."""
        if not self.console.is_terminal:
            # a pipe or CI log: one line at the start and one at the end, not a line per tick
            finished = total is not None and done >= total
            key = f"{task}:{'end' if finished else 'start'}"
            if (done == 0 or finished) and key not in self._announced:
                self._announced.add(key)
                if finished:
                    self._announced.discard(f"{task}:start")
                else:
                    self._announced.discard(f"{task}:end")
                suffix = f" ({_fmt(done, unit)}{'/' + _fmt(total, unit) if total else ''})"
                self.console.print(escape(f"{task}{suffix}"), soft_wrap=True)
            return
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TaskProgressColumn(), TimeElapsedColumn(),
                                      console=self.console, transient=True)
            self._progress.start()
        if task not in self._tasks:
            self._tasks[task] = self._progress.add_task(task, total=total)
        self._progress.update(self._tasks[task], completed=done, total=total)
        if total is not None and done >= total:
            self._progress.remove_task(self._tasks.pop(task))
            if not self._tasks:
                self._pause()

    def show(self, kind: str, data: Any) -> None:
        """Draw a structured view; the renderers live in :mod:`wizard.views`.

        Monitoring re-sends its views on every poll so that redrawing front-ends stay live;
        printed output would repeat itself, so a view whose only change is its live parts
        (elapsed times, log tails) is not printed again.
        """
        from wizard.views import render, without_live

        settled = without_live(data)
        if self._last_views.get(kind) == settled and kind in ("graph", "resources"):
            return
        self._last_views[kind] = settled
        self._pause()
        renderable = render(kind, data)
        if renderable is not None:
            self.console.print(renderable)

    def _pause(self) -> None:
        if self._progress is not None and not self._tasks:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        """Stop any live progress display."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    if unit == "B":
        for size, label in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= size:
                return f"{value / size:.1f} {label}"
        return f"{int(value)} B"
    return f"{value:g}{(' ' + unit) if unit else ''}"
