"""The run monitoring view (pipeline graph, SageMaker resources) and the endpoint test view.

Both draw the renderables of :mod:`wizard.views`, so the TUI and the headless run show the same
picture. Updating a ``Static`` lets Textual repaint only the cells that changed: no flicker.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class MonitorView(VerticalScroll):
    """The pipeline's graph over the SageMaker resources' statuses and log tails."""

    def compose(self):
        """Two sections, filled as ``graph`` and ``resources`` data arrive."""
        yield Static("Pipeline", classes="section-title", id="graph-title")
        yield Static(Text("No pipeline run yet: it appears while 'Run monitoring' runs.", "dim"),
                     id="graph")
        yield Static("SageMaker resources", classes="section-title")
        yield Static(Text("No SageMaker resources reported yet.", "dim"), id="resources")

    #: below this width or height (in cells) the views are drawn compact (see wizard.views)
    COMPACT_WIDTH, COMPACT_HEIGHT = 90, 30

    def __init__(self, *args, **kwargs) -> None:
        """Nothing shown yet."""
        super().__init__(*args, **kwargs)
        self._data: dict[str, Any] = {}
        self._finished = False

    def show(self, kind: str, data: Any, finished: bool = False) -> None:
        """Draw ``graph`` or ``resources`` data, compact when the pane is small (``finished``:
        the recorded picture of a run that ended before, see :meth:`show_finished`)."""
        from wizard.views import graph_view, resources_view

        if self._finished and not finished:
            # a live run's views replace the finished run's picture
            self._finished = False
            self.query_one("#graph-title", Static).update("Pipeline")
        self._data[kind] = data
        compact = self.app.size.width < self.COMPACT_WIDTH or \
            self.app.size.height < self.COMPACT_HEIGHT
        if kind == "graph":
            width = max(20, self.size.width - 2) if self.size.width else None
            self.query_one("#graph", Static).update(graph_view(data, compact=compact, width=width))
        elif kind == "resources":
            self.query_one("#resources", Static).update(resources_view(data, compact=compact))

    @property
    def live(self) -> bool:
        """Whether a run's views arrived in this session (a finished run's are not live)."""
        return bool(self._data) and not self._finished

    def show_finished(self, outputs: dict, spec_tasks: list | None = None) -> None:
        """The final picture of a run that ended before this session (the state's record of
        'Run monitoring'): its tasks (kept by the step; for an older record, the pipeline's
        tasks, each given the run's state only when the run succeeded, as every task of a
        succeeded run did) and its resources' last statuses."""
        if not outputs.get("run_id") or (self._data and not self._finished):
            return
        state = str(outputs.get("run_state") or "?")
        tasks = outputs.get("tasks") or [
            {"name": t["name"], "depends_on": t.get("depends_on", []),
             "state": "SUCCEEDED" if state == "SUCCEEDED" else "unknown"}
            for t in spec_tasks or []]
        self._finished = True
        self.query_one("#graph-title", Static).update("Pipeline (the finished run, as recorded)")
        self.show("graph", {"run": {"id": outputs["run_id"], "state": state}, "tasks": tasks},
                  finished=True)
        if outputs.get("resources"):
            self.show("resources", list(outputs["resources"]), finished=True)

    def on_resize(self, event) -> None:
        """Redraw for the new size (compact or not)."""
        for kind, data in list(self._data.items()):
            self.show(kind, data, finished=self._finished)


class DigitsView(VerticalScroll):
    """Sample digits drawn beside their predictions."""

    def compose(self):
        """A caption and the digits."""
        yield Static(Text("No predictions yet: they appear while 'Endpoint test' runs.", "dim"),
                     id="digits-caption")
        yield Static("", id="digits")

    def show(self, data: dict) -> None:
        """Draw ``digits`` data (see :func:`wizard.views.digits_view`)."""
        from wizard.views import digits_view

        items = data.get("digits", [])
        right = sum(1 for d in items if d.get("label") is not None and d.get("match"))
        caption = f"{len(items)} sample digit(s) sent to endpoint {data.get('endpoint', '?')}"
        if any("match" in d for d in items):
            caption += f"; {right} matched their cluster's majority label"
        self.query_one("#digits-caption", Static).update(Text(caption, "bold"))
        self.query_one("#digits", Static).update(digits_view(data))
