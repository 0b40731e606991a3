"""The sidebar: the lab's steps with their states and durations."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import ListItem, ListView

from wizard.tui.model import STATUS_LOOK, format_duration, shown_status, step_record


class StepItem(ListItem):
    """One step in the sidebar; ``step_id`` names it."""

    def __init__(self, number: int, step) -> None:
        """Make the item (StepItem) or the list of items (StepList)."""
        super().__init__(id=f"step-{step.id}")
        self.step_id = step.id
        self.number = number
        self.title = step.title
        self.content: Table | str = ""  # the row :meth:`show` drew last

    def render(self) -> Table | str:
        """The row :meth:`show` drew (the item draws itself: a label in each of the nine
        items was nine more widgets to style before the first frame)."""
        return self.content

    def show(self, rec: dict, autopilot_next: bool = False, busy: str | None = None) -> None:
        """Draw the step's glyph, number, title, and its duration or state word (never cut:
        the title gives way, see app.tcss)."""
        status = shown_status(rec, busy, self.step_id)
        glyph, word, style = STATUS_LOOK.get(status, ("?", status, "magenta"))
        detail = format_duration(rec.get("duration_s")) if status == "done" else word
        if status == "pending":
            detail = "next" if autopilot_next else ""
        # the title gives way (cut with …), the state or duration never does
        row = Table.grid(expand=True)
        row.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        row.add_column(no_wrap=True, justify="right")
        row.add_row(Text.assemble((f"{glyph} ", style), f"{self.number}. {self.title}"),
                    Text(f" {detail}" if detail else "",
                         "dim" if status not in ("failed", "interrupted") else style))
        self.content = row
        self.refresh(layout=True)
        self.set_class(status in ("failed", "interrupted"), "-failed")
        self.set_class(status == "running", "-running")


class StepList(ListView):
    """The list of steps; highlighting one shows it in the step pane."""

    def __init__(self, steps: list) -> None:
        """Make the item (StepItem) or the list of items (StepList)."""
        self._items = [StepItem(n, s) for n, s in enumerate(steps, 1)]
        super().__init__(*self._items, id="steps")

    def refresh_states(self, doc: dict, next_step: str | None = None,
                       busy: str | None = None) -> None:
        """Redraw every step from the state document (``busy``: the step our runner runs)."""
        for item in self._items:
            item.show(step_record(doc, item.step_id), autopilot_next=item.step_id == next_step,
                      busy=busy)

    def select_step(self, step_id: str) -> None:
        """Move the highlight to ``step_id``."""
        for index, item in enumerate(self._items):
            if item.step_id == step_id:
                self.index = index
                return
