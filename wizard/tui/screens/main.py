"""The main screen: target header, steps sidebar, the current step's pane, autopilot bar, footer.

The pane has six tabs: the lesson, the inputs form, the equivalent commands, the live log with
progress bars, the run monitoring view and the endpoint test view. Below the minimum size the
screen shows only a message saying how big the terminal must be.

The first frame has what a learner sees first: the header, the sidebar, the step's title, the tab
bar, the lesson's text and the footer. The five other tabs' contents (the form, the log, the
monitor...) are built just after it (:meth:`MainScreen.build_panes`, called by the app once the
first frame is on the terminal): mounting them, and styling the widgets, was most of labwiz's
start-up. Until then everything that would change them waits in order (:meth:`when_built`).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from wizard.tui.widgets.footer import KeysFooter
from wizard.tui.widgets.header import TargetBar
from wizard.tui.widgets.steps import StepList

#: the smallest terminal the layout works in, and the width below which the sidebar narrows
MIN_WIDTH, MIN_HEIGHT, NARROW_WIDTH, SHORT_HEIGHT = 60, 18, 100, 30

TABS = ("lesson", "inputs", "commands", "log", "monitor", "endpoint")

#: the titles of the tabs whose contents come after the first frame (see build_panes)
LATER_TABS = {"inputs": "Inputs", "commands": "Commands", "log": "Log", "monitor": "Monitor",
              "endpoint": "Endpoint"}

LOG_STYLES = {"success": "green", "warning": "yellow", "error": "bold red", "debug": "dim",
              "command": "cyan"}


class MainScreen(Screen):
    """The wizard's one working screen; the app drives it through the methods below."""

    #: the sidebar has focus from the start (each later focus change rebuilds the footer's keys)
    AUTO_FOCUS = "#steps"

    def __init__(self, steps: list, autopilot: bool = False,
                 on_mounted: Callable[[], Any] | None = None,
                 size: tuple[int, int] | None = None) -> None:
        """Keep the steps; ``autopilot`` shows the autopilot's status line; ``on_mounted`` is
        called once the screen's widgets are mounted (the app fills them in for the first frame);
        ``size``, the terminal's when known, picks the layout before the widgets are styled."""
        super().__init__(id="main")
        if size is not None:
            # classes set now cost nothing; set on mount, they restyle every widget again
            self._fit_classes(*size)
        self.steps = steps
        self._on_mounted = on_mounted
        self._lesson = ""  # the current step's lesson, as Markdown
        self.panes_built = False  # the tabs' contents are mounted (see build_panes)
        self.settled = False  # ... and what waited for them is done (see when_settled)
        self._after_settled: list[Callable[[], Any]] = []
        self._waiting: list[tuple[Callable, tuple]] = []  # calls for them until they are
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
                            # just after the first frame (see build_panes)
                            yield Static("", id="lesson-text")
                    for name, title in LATER_TABS.items():
                        yield TabPane(title, id=f"tab-{name}")  # filled by build_panes
        yield Static("", id="autopilot")
        yield KeysFooter()
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        """Pick the layout for the starting size (the sidebar has focus: AUTO_FOCUS)."""
        self._fit(self.app.size.width, self.app.size.height)
        if self._on_mounted is not None:
            self._on_mounted()

    async def build_panes(self) -> None:
        """Mount the contents of the tabs after the first frame, then run what waited for them.

        The widgets' modules are imported here too: RichLog, the form's fields and the lesson's
        Markdown view (markdown-it, pygments) are not needed for the first frame.
        """
        if self.panes_built:
            return
        from textual.widgets import Markdown

        from wizard.tui.widgets.form import InputForm
        from wizard.tui.widgets.log import PaneLog
        from wizard.tui.widgets.monitor import DigitsView, MonitorView
        from wizard.tui.widgets.progress import ProgressPanel

        contents = {
            "inputs": [InputForm(id="form")],
            "commands": [VerticalScroll(Static("", id="commands"), id="commands-scroll"),
                         Static("", id="commands-path")],
            "log": [ProgressPanel(id="progress"), PaneLog(id="log", markup=False, highlight=False)],
            "monitor": [MonitorView(id="monitor")],
            "endpoint": [DigitsView(id="endpoint")],
        }
        for name, widgets in contents.items():
            await self.query_one(f"#tab-{name}", TabPane).mount_all(widgets)
        await self.query_one("#lesson-scroll").mount(Markdown(self._lesson, id="lesson"))
        await self.query_one("#lesson-text", Static).remove()
        if not self.is_attached:
            return  # the app quit meanwhile: nothing waiting needs doing
        self.panes_built = True
        try:
            # what arrives while this runs (a step's values while an earlier form is being
            # built) joins the queue behind it, so it reaches the form it was meant for
            while self._waiting:
                fn, args = self._waiting.pop(0)
                await self._call_reporting(fn, args)
        finally:  # a quit that waited must happen even when something that waited failed
            self.settled = True
            for fn in self._after_settled:
                fn()

    def when_settled(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` once the tabs' contents and everything that waited for them (the form's
        fields) are mounted: now, if they are."""
        if self.settled:
            fn()
        else:
            self._after_settled.append(fn)

    def when_built(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` now when the tabs' contents exist and what waited for them is done,
        else in turn after it (calls keep their order: log lines, progress, a form's build before
        its values, even when the values arrive while an earlier form is being built).

        A coroutine function runs as the app's next callback once the contents exist; while
        they do not, it is awaited in turn, so what waited after it (the form's values after its
        fields) finds it done.
        """
        if not self.settled:
            self._waiting.append((fn, args))
        elif inspect.iscoroutinefunction(fn):
            self.app.call_later(self._call_reporting, fn, args)
        else:
            fn(*args)

    async def _call_reporting(self, fn: Callable[..., Any], args: tuple) -> None:
        """``fn(*args)``, awaited if need be; an error goes to the app's central handler (its
        ``report_unexpected``), as an error in one of its own handlers does, so one bad call
        neither stops the rest of the queue nor shows Textual's traceback."""
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the central handler decides
            self.app.report_unexpected(error)

    def on_resize(self, event: events.Resize) -> None:
        """Switch between the wide, narrow and too-small layouts."""
        self._fit(event.size.width, event.size.height)

    def _fit_classes(self, width: int, height: int) -> bool:
        """Set the layout classes for a terminal of ``width`` × ``height``; True if too small."""
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(too_small, "-too-small")
        return too_small

    def _fit(self, width: int, height: int) -> None:
        """Set the layout classes for a terminal of ``width`` × ``height``, and the message a
        too small terminal shows."""
        if self._fit_classes(width, height):
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
        else:  # plain text until the Markdown view exists (see build_panes)
            from wizard.tui.model import lesson_preview

            preview = Text(lesson_preview(text))
            if summary:
                preview = Text.assemble((summary, "bold"), "\n\n", preview)
            self.query_one("#lesson-text", Static).update(preview)

    def show_commands(self, planned: list[str], reported: list[str], paths: tuple) -> None:
        """Show the planned and the reported commands, and the files that keep them."""
        self.when_built(self._show_commands, list(planned), list(reported), paths)

    def _show_commands(self, planned: list[str], reported: list[str], paths: tuple) -> None:
        """Draw the commands tab (see :meth:`show_commands`)."""
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
        self.write_renderable(Text(text, LOG_STYLES.get(level, "")))

    def write_renderable(self, renderable) -> None:
        """Append a table or other Rich renderable to the live log."""
        self.when_built(lambda: self.query_one("#log").write(renderable))

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
