"""Progress bars for the running step, one per task it reports; each leaves when complete."""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Label, ProgressBar


class ProgressPanel(Vertical):
    """Holds a labelled bar per reported task."""

    def __init__(self, **kwargs) -> None:
        """Start without bars."""
        super().__init__(**kwargs)
        self._bars: dict[str, tuple[Vertical, ProgressBar]] = {}

    def update_task(self, task: str, done: float, total: float | None) -> None:
        """Create or move the bar of ``task``; remove it when ``done`` reaches ``total``."""
        if total is not None and done >= total:
            self.remove_task(task)
            return
        if task not in self._bars:
            bar = ProgressBar(total=total, show_eta=False)
            row = Vertical(Label(task, markup=False), bar, classes="progress-row")
            self._bars[task] = (row, bar)
            self.mount(row)
        self._bars[task][1].update(total=total, progress=done)

    def remove_task(self, task: str) -> None:
        """Take a finished task's bar away."""
        row = self._bars.pop(task, (None, None))[0]
        if row is not None:
            row.remove()

    def clear(self) -> None:
        """Remove every bar (a new run starts)."""
        for task in list(self._bars):
            self.remove_task(task)
