"""The main screen: target header, steps sidebar, the current step's pane, autopilot bar, footer.

The pane has six tabs: the lesson, the inputs form, the equivalent commands, the live log with
progress bars, the run monitoring view and the endpoint test view. Below the minimum size the
screen shows only a message saying how big the terminal must be.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from wizard.tui.widgets import (DigitsView, InputForm, MonitorView, PaneLog, ProgressPanel, StepList,
                                TargetBar)

#: the smallest terminal the layout works in, and the width below which the sidebar narrows
MIN_WIDTH, MIN_HEIGHT, NARROW_WIDTH, SHORT_HEIGHT = 60, 18, 100, 30

TABS = ("lesson", "inputs", "commands", "log", "monitor", "endpoint")

LOG_STYLES = {"success": "green", "warning": "yellow", "error": "bold red", "debug": "dim",
              "command": "cyan"}


class MainScreen(Screen):
    """The wizard's one working screen; the app drives it through the methods below."""

    def __init__(self, steps: list, autopilot: bool = False) -> None:
        """Keep the steps; ``autopilot`` shows the autopilot's status line."""
        super().__init__(id="main")
        self.steps = steps
        self._lesson = ""  # the current step's lesson, as Markdown
        self.set_class(autopilot, "-autopilot")

    def compose(self) -> ComposeResult:
        """Lay out the header, body, autopilot bar, footer and the too-small message."""
        yield TargetBar(id="target")
        with Horizontal(id="body"):
            yield StepList(self.steps)
            with Vertical(id="pane"):
                yield Static("", id="step-title")
                yield Static("", id="step-error")
                with TabbedContent(id="tabs", initial="tab-lesson"):
                    with TabPane("Lesson", id="tab-lesson"):
                        with VerticalScroll(id="lesson-scroll"):
                            # the lesson's text as it is until its Markdown view is mounted,
                            # just after the first paint (see on_mount)
                            yield Static("", id="lesson-text")
                    with TabPane("Inputs", id="tab-inputs"):
                        yield InputForm(id="form")
                    with TabPane("Commands", id="tab-commands"):
                        with VerticalScroll(id="commands-scroll"):
                            yield Static("", id="commands")
                        yield Static("", id="commands-path")
                    with TabPane("Log", id="tab-log"):
                        yield ProgressPanel(id="progress")
                        yield PaneLog(id="log", markup=False, highlight=False)
                    with TabPane("Monitor", id="tab-monitor"):
                        yield MonitorView(id="monitor")
                    with TabPane("Endpoint", id="tab-endpoint"):
                        yield DigitsView(id="endpoint")
        yield Static("", id="autopilot")
        yield Footer()
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        """Pick the layout for the starting size; the sidebar takes focus. The lesson's Markdown
        view comes after the first paint: importing it (markdown-it, pygments) is a tenth of
        labwiz's start-up, and the first screen does not wait for it."""
        self._fit(self.app.size.width, self.app.size.height)
        self.query_one(StepList).focus()
        self.call_after_refresh(self._mount_lesson)

    def _mount_lesson(self) -> None:
        """Replace the lesson's plain text with its Markdown view."""
        from textual.widgets import Markdown

        if self.query("#lesson"):
            return
        self.query_one("#lesson-scroll").mount(Markdown(self._lesson, id="lesson"))
        self.query_one("#lesson-text", Static).remove()

    def on_resize(self, event: events.Resize) -> None:
        """Switch between the wide, narrow and too-small layouts."""
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Set the layout classes for a terminal of ``width`` × ``height``."""
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(too_small, "-too-small")
        if too_small:
            self.query_one("#too-small", Static).update(
                f"This terminal is {width}×{height}; labwiz needs at least {MIN_WIDTH}×{MIN_HEIGHT}.\n"
                "Enlarge the window, or run 'labwiz --plain' for plain prompts.")

    # -- what the app calls ----------------------------------------------------------------------
    def set_target(self, line: str) -> None:
        """Show where the lab runs."""
        self.query_one(TargetBar).target = line

    def show_step(self, number: int, step, rec: dict, lesson: bool = True,
                  busy: str | None = None) -> None:
        """Show a step's title, its last error, and its lesson (form and commands come later)."""
        from wizard.tui.model import shown_status

        status = shown_status(rec, busy, step.id)
        self.query_one("#step-title", Static).update(
            Text.assemble((f"Step {number} of {len(self.steps)}: ", "dim"), (step.title, "bold"),
                          (f"  [{status}]", "dim")))
        error = (rec.get("error") or {}) if status == "failed" else {}
        banner = self.query_one("#step-error", Static)
        if status == "interrupted":
            banner.update(Text("◌ labwiz stopped while this step ran. r runs it again; the work "
                               "it finished is reused.", "bold yellow"))
        else:
            banner.update(Text(f"✘ {error.get('message', '')}  (t: retry)", "bold red")
                          if error else "")
        banner.display = bool(error) or status == "interrupted"
        if not lesson:
            return
        summary = getattr(step, "summary", "")
        text = step.lesson or "_This step has no lesson text._"
        self._lesson = f"**{summary}**\n\n{text}" if summary else text
        found = self.query("#lesson")
        if found:
            found.first().update(self._lesson)
        else:
            self.query_one("#lesson-text", Static).update(Text(self._lesson))

    def show_commands(self, planned: list[str], reported: list[str], paths: tuple) -> None:
        """Show the planned and the reported commands, and the files that keep them."""
        text = Text()
        if planned:
            text.append("# what this step does, as commands you could type\n", "dim")
            for line in planned:
                text.append(f"$ {line}\n", "cyan")
        else:
            text.append("No aws, kubectl or kfp command: this step works locally.\n", "dim")
        if reported:
            text.append("\n# run just now\n", "dim")
            for line in reported:
                text.append(f"$ {line}\n", "bold cyan")
        self.query_one("#commands", Static).update(text)
        plan, ran = paths
        self.query_one("#commands-path", Static).update(
            Text.assemble(("c", "bold"), " copies them. Saved in ", (str(plan), "underline"),
                          (f" and, once run, {ran}" if ran else "", "")))

    def write_log(self, text: str, level: str = "info") -> None:
        """Append a line to the live log."""
        self.query_one("#log", PaneLog).write(Text(text, LOG_STYLES.get(level, "")))

    def write_renderable(self, renderable) -> None:
        """Append a table or other Rich renderable to the live log."""
        self.query_one("#log", PaneLog).write(renderable)

    def switch_tab(self, name: str) -> None:
        """Show one of the pane's tabs.

        Focus inside the tab being hidden moves to the sidebar first: TabbedContent shows the pane
        of any widget that gets focus, so a form field keeping it (or the form, when its fields
        are rebuilt for the next step) would pull the Inputs tab back over the log.
        """
        tabs = self.query_one("#tabs", TabbedContent)
        target = f"tab-{name}"
        focused = self.focused
        if tabs.active != target and focused is not None and tabs.active:
            hidden = self.query_one(f"#{tabs.active}")
            if focused is hidden or hidden in focused.ancestors:
                self.query_one(StepList).focus()
        tabs.active = target

    def active_tab(self) -> str:
        """The name of the tab on show."""
        return self.query_one("#tabs", TabbedContent).active.removeprefix("tab-")

    def set_autopilot(self, text: str) -> None:
        """The autopilot's status line (nothing once the screen is being taken down)."""
        for line in self.query("#autopilot").results(Static):
            line.update(escape(text))
