"""``labwiz inspect BUNDLE`` in the TUI: a support bundle opened read-only.

``run_inspect(view)`` takes a :class:`wizard.bundle.view.BundleView` and shows where the lab stood,
the event timeline, the doctor's results and every file of the bundle. It falls back to the plain
summary when there is no terminal the TUI can draw on.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import ListItem, ListView, Label, Static, TabbedContent, TabPane

from wizard.tui.model import STATUS_LOOK
from wizard.tui.widgets.footer import KeysFooter
from wizard.views import state_style


def lab_table(view) -> Table:
    """The bundle's steps with state, attempts and error."""
    from wizard.bundle.view import _step_order

    table = Table(show_edge=False, expand=True)
    for column in ("step", "state", "tries", "error"):
        table.add_column(column, overflow="fold")
    steps = view.state.get("steps") or {}
    for step_id in _step_order(view.state):
        rec = steps.get(step_id) or {}
        glyph, word, style = STATUS_LOOK.get(rec.get("status", "pending"), ("?", "?", ""))
        table.add_row(step_id, Text(f"{glyph} {word}", style), str(rec.get("attempts") or ""),
                      Text(str((rec.get("error") or {}).get("message", "")), "red"))
    return table


def timeline(view) -> Text:
    """The events, one line each."""
    text = Text()
    for event in view.events:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(event.items())
                           if k not in ("ts", "event", "serial") and v not in (None, "", {}))
        text.append(f"{event.get('ts', '')} ", "dim")
        text.append(f"{event.get('event', '?')}  ", "bold")
        text.append(detail[:200] + "\n")
    return text if view.events else Text("No events recorded.", "dim")


def doctor_table(view) -> Table | Text:
    """The doctor's results kept in the bundle."""
    if not view.doctor:
        return Text("The bundle has no doctor results.", "dim")
    table = Table(show_edge=False, expand=True)
    for column in ("check", "result", "found / what to do"):
        table.add_column(column, overflow="fold")
    for result in view.doctor:
        glyph, style = state_style({"pass": "done", "fail": "failed", "warn": "running",
                                    "skip": "skipped"}.get(result.get("status"), ""))
        detail = Text(str(result.get("found", "")))
        if result.get("remediation") and result.get("status") in ("fail", "warn"):
            detail.append(f"\nWhat to do: {result['remediation']}", "bold")
        if result.get("doc_url") and result.get("status") in ("fail", "warn"):
            detail.append(f"\nDocs: {result['doc_url']}", "dim")
        table.add_row(str(result.get("name")), Text(f"{glyph} {result.get('status')}", style), detail)
    return table


class InspectApp(App[None]):
    """A read-only view of one support bundle."""

    CSS_PATH = "inspect.tcss"
    TITLE = "labwiz inspect"
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, view) -> None:
        """Keep the bundle's parsed view."""
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        """Header line, four tabs, footer."""
        m = self.view.manifest
        target = m.get("target") or {}
        yield Static(Text.assemble((" labwiz inspect ", "bold reverse"), f"  {self.view.path}  ·  "
                                   f"written {m.get('created_at', '?')} by labwiz "
                                   f"{m.get('labwiz_version', '?')}  ·  {target.get('mode', '?')} "
                                   f"{target.get('region') or ''}  ·  redaction "
                                   f"{'on' if m.get('redacted') else 'OFF'}"), id="inspect-head")
        with TabbedContent():
            with TabPane("Lab", id="tab-lab"):
                yield VerticalScroll(Static(lab_table(self.view)))
            with TabPane("Timeline", id="tab-timeline"):
                yield VerticalScroll(Static(timeline(self.view)))
            with TabPane("Doctor", id="tab-doctor"):
                yield VerticalScroll(Static(doctor_table(self.view)))
            with TabPane("Files", id="tab-files"):
                with Horizontal():
                    yield ListView(*[ListItem(Label(name, markup=False), name=name)
                                     for name in self.view.files()], id="files")
                    yield VerticalScroll(Static("", id="file-text", markup=False), id="file-scroll")
        yield KeysFooter()

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        """Show the highlighted file's text."""
        if event.item is not None:
            self.query_one("#file-text", Static).update(self.view.text(event.item.name)[:200_000])


def run_inspect(view) -> None:
    """Open the bundle in the TUI, or print its summary when no terminal can show the TUI."""
    from wizard.frontend import usable_terminal

    if not usable_terminal():
        from wizard.bundle.view import print_summary

        print_summary(view)
        return
    InspectApp(view).run()
