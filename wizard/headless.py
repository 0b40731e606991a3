"""The headless front-end: a rich reporter for ``labwiz run`` in a terminal, a CI log or a pipe.

It reads like a good CLI: a header per step ("Step 3 of 9 · CRD selection" and its one-line
lesson), what the step does as it does it, a result line with the time it took, and a closing
summary. Monitoring prints only what changed (a task or resource changing state, a new log line,
a problem condition), never the same picture or log tail twice. On a terminal, progress bars and
the current monitoring picture sit in a live region redrawn in place (rich ``Live``); in a pipe,
a CI log or a notebook cell everything is plain appended lines. It never asks anything.

The step headers and results come from the state the runner saves (``state_saved`` is the
runner's ``on_state``), so they say exactly what the state file says.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from wizard import outline
from wizard.protocol import Command
from wizard.secrets import redact


#: a resource's state change as the monitor logs it: "TrainingJob mnist-train-x: InProgress"
_STATE_LINE = re.compile(r"^[A-Z][A-Za-z]+ [a-z0-9][\w.-]*: [A-Z][\w ()]*$")

_STYLES = {"success": "green", "warning": "yellow", "error": "bold red", "debug": "dim"}


class HeadlessReporter:
    """Reports a run on a rich console.

    ``steps`` (the lab's steps) turns on the step headers, results and summary; ``state_dir``
    says where each step's equivalent commands are kept. Commands are printed whole when
    ``verbose``; otherwise each is printed on one line (cut to the width when longer, as a long
    policy document would fill the screen) and the step's end names the file that has them all
    whole. Every action's command is shown: that is how the learner learns the real tools.
    """

    def __init__(self, console: Console | None = None, show_commands: bool = True, *,
                 steps: list | None = None, state_dir: Path | str | None = None,
                 verbose: bool = False, live: bool | None = None):
        self.console = console or Console(highlight=False)
        self.show_commands = show_commands
        self.verbose = verbose
        self.steps = list(steps or [])
        self.state_dir = Path(state_dir) if state_dir else None
        self.live = self.console.is_terminal if live is None else live
        self._progress = None
        self._live = None
        self._tasks: dict[str, Any] = {}
        self._views: dict[str, Any] = {}
        self._statuses: dict[str, str] = {}
        self._announced: set[str] = set()
        self._current: str | None = None
        self._cut: dict[str, int] = {}        # step id -> commands cut short or not shown
        self._shown: dict[str, int] = {}      # step id -> commands printed inline
        self._burst: list[tuple[str, tuple]] = []  # one-resource lines held to be folded
        #: nobody is asked anything (``--yes``, answers): a plan whose items are each named as
        #: they are handled prints counted (set by the session)
        self.unattended = False
        self._named_commands_dir = False      # a step's end named the commands directory
        self._held: list[Command] = []
        self._status: Text | None = None      # a poll's task changes, held for its resources        # commands held to be printed short together
        self._said: set[str] = set()          # names the current step's lines reported
        self.monitor = outline.MonitorChanges()
        self.started = time.monotonic()

    # -- the Reporter protocol ---------------------------------------------------------------------
    def log(self, message: str, level: str = "info") -> None:
        """Print one line, coloured by level.

        Lines that each report one resource ("Removed iam-role x.") and follow each other are
        held and printed folded, one line per verb and kind (see :func:`wizard.outline.folded`):
        a cleanup of 33 resources reads in a dozen lines, every resource still named.
        """
        message = redact(message)
        if level == "info" and message.startswith("tasks: "):
            # a poll's task changes wait for its resource changes, to share their line
            self._flush()
            self._status = Text(message)
            return
        if self._status is not None and level == "info" and _STATE_LINE.match(message) and \
                len(self._status) + 3 + len(message) <= self.console.width:
            self._status.append(" · " + message)
            return
        report = outline.resource_line(message) if level in ("info", "success") else None
        if report is not None and (not self._burst or self._burst[0][0] == level):
            self._burst.append((level, report))
            self._said.add(report[2])
            return
        self._flush()
        if report is not None:
            self._burst.append((level, report))
            self._said.add(report[2])
            return
        style = _STYLES.get(level, "")
        text = escape(redact(message))
        # soft wrap: a long line (a path, an ARN) stays whole, so it can be copied
        self.console.print(f"[{style}]{text}[/]" if style else text, soft_wrap=True)

    def _flush(self, keep_status: bool = False) -> None:
        """Print the held task changes, the held commands, then the held one-resource lines,
        folded (``keep_status``: the task changes stay held, for the poll's resource changes)."""
        if self._status is not None and not keep_status:
            self.console.print(self._status, soft_wrap=True)
            self._status = None
        self._print_commands()
        if not self._burst:
            return
        style = _STYLES.get(self._burst[0][0], "")
        for line in outline.folded([report for _, report in self._burst]):
            line.stylize(style)
            self.console.print(line, soft_wrap=True)
        self._burst = []

    def command(self, command: Command) -> None:
        """Print the equivalent command, dimmed, prefixed with ``$``.

        In a step (and not ``verbose``), commands are held until the step says something else,
        then printed short (see :mod:`wizard.cmdfold`): a run of alike commands as one line, a
        burst of many as one line naming each; the step's end names the file with all of them
        whole. Outside a step (terminate, reset) there is no such file: they print whole.
        """
        if not self.show_commands:
            return
        if self.verbose or self._current is None:
            lines = redact(command.shell()).splitlines()
            for i, line in enumerate(lines):
                self.console.print(f"[cyan]{'$' if i == 0 else ' '} {escape(line)}[/]",
                                   soft_wrap=True)
            return
        step = self._current
        self._shown[step] = self._shown.get(step, 0) + 1
        # a command does not release the one-resource lines held for folding: cleanup alternates
        # a command and a result line, and its results then read as one line per verb and kind
        self._held.append(command)

    def _print_commands(self) -> None:
        """Print the held commands short, and count them as not shown whole."""
        if not self._held:
            return
        from wizard import cmdfold

        width = max(40, self.console.width)
        for line in cmdfold.batch_lines(self._held, width):
            self.console.print(Text("$ " + redact(line), "cyan"), no_wrap=True, overflow="ellipsis",
                               crop=True)
        step = self._current or ""
        self._cut[step] = self._cut.get(step, 0) + len(self._held)
        self._held = []

    def progress(self, task: str, done: float, total: float | None = None, unit: str = "") -> None:
        """On a terminal, a bar in the live region that leaves when complete; in a pipe, nothing
        (the step's own lines say what was done, and a line per tick would be noise)."""
        if not self.live:
            return
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TaskProgressColumn(), TimeElapsedColumn(),
                                      console=self.console, auto_refresh=False)
        if task not in self._tasks:
            self._tasks[task] = self._progress.add_task(task, total=total)
        self._progress.update(self._tasks[task], completed=done, total=total)
        if total is not None and done >= total:
            self._progress.remove_task(self._tasks.pop(task))
        self._refresh_live()

    def show(self, kind: str, data: Any) -> None:
        """Draw a structured view (renderers in :mod:`wizard.views`).

        Monitoring re-sends its views on every poll; printed, only their changes appear (see
        :class:`wizard.outline.MonitorChanges`), and on a terminal the live region shows the
        current picture.
        """
        from wizard.views import render

        self._flush(keep_status=kind == "graph")
        if kind == "table" and isinstance(data, dict) and len(data.get("rows") or []) > 3 and \
                all(len(r) > 1 and str(r[1]) in self._said for r in data["rows"]):
            # every row was reported line by line just before: say so rather than repeat it
            # (unattended output, read as a record, just goes on)
            if not self.unattended:
                self.console.print(Text(f"{data.get('title') or 'Table'}: each of its "
                                        f"{len(data['rows'])} rows is reported above.", "dim"))
            return
        if kind in ("graph", "resources"):
            for line in self.monitor.changes(kind, data, self.console.width):
                if line.no_wrap:  # a log line: read at a glance, cut at the width
                    self.console.print(line, no_wrap=True, overflow="ellipsis", crop=True)
                else:
                    self.console.print(line)
            if self.live:
                self._views[kind] = outline.live_view(kind, data)
                self._refresh_live()
            return
        renderable = outline.compact(kind, data, self.console.width,
                                     unattended=self.unattended) or render(kind, data)
        if renderable is not None:
            self.console.print(renderable)

    # -- steps and summary -------------------------------------------------------------------------
    def announce(self, step_id: str) -> None:
        """Print the step's header once per run: its number, title and one-line lesson."""
        if step_id in self._announced or not self.steps:
            return
        self._flush()
        self._said = set()
        self._announced.add(step_id)
        self._current = step_id
        ids = [s.id for s in self.steps]
        if step_id not in ids:
            return
        step = self.steps[ids.index(step_id)]
        self.console.print()
        header = Text.assemble((f"Step {ids.index(step_id) + 1} of {len(ids)} · ", "bold"),
                               (step.title, "bold"))
        summary = getattr(step, "summary", "")
        if summary and len(header) + 3 + len(summary) <= self.console.width:
            # the one-line lesson beside the title when it fits, else on its own line
            self.console.print(header + Text(f" — {summary}", "dim"))
            return
        self.console.print(header)
        if summary:
            self.console.print(Text(summary, "dim"), soft_wrap=True)

    def state_saved(self, doc: dict) -> None:
        """The runner saved the state: announce a step that starts, print one that ended."""
        for step_id, rec in (doc.get("steps") or {}).items():
            status = rec.get("status", "pending")
            before = self._statuses.get(step_id)
            self._statuses[step_id] = status
            if status == before:
                continue
            if status == "running":
                self.announce(step_id)
            elif before == "running" and status in ("done", "failed"):
                self._step_ended(step_id, rec)
            elif status == "skipped" and rec.get("declined") and before == "running":
                self._step_declined(step_id, rec)
            elif status == "skipped" and before is not None:
                self.console.print(Text(f"↷ {self._title(step_id)} skipped", "dim"))

    def _step_ended(self, step_id: str, rec: dict) -> None:
        """The result line of a step, and where its commands are."""
        self._flush()
        self._stop_live()
        self.monitor = outline.MonitorChanges()
        took = outline.format_duration(rec.get("duration_s"))
        if rec.get("status") == "done":
            line = Text(f"✔ {self._title(step_id)} done" + (f" in {took}" if took else ""),
                        "bold green")
        else:
            line = Text(f"✘ {self._title(step_id)} failed" + (f" after {took}" if took else ""),
                        "bold red")
        cut, shown = self._cut.pop(step_id, 0), self._shown.pop(step_id, 0)
        if not cut or self.state_dir is None:
            self.console.print(line)
            return
        # the first step's end names the directory whole, later ones their file in it
        where = "commands" if self._named_commands_dir else str(self.state_dir / "commands")
        self._named_commands_dir = True
        line.append(f" · its {shown} command(s), whole: {where}/{step_id}.sh", "dim")
        self.console.print(line, soft_wrap=True)

    def _step_declined(self, step_id: str, rec: dict) -> None:
        """A step the learner said no to: what remains, and the command that does it later."""
        self._flush()
        self._stop_live()
        note = rec.get("note") or {}
        self.console.print(Text(f"↷ {self._title(step_id)} declined (your choice)", "bold yellow"))
        for line in (note.get("message"), note.get("remediation")):
            if line:
                self.console.print(Text("  " + line, "yellow"), soft_wrap=True)

    def _title(self, step_id: str) -> str:
        """A step's title (its id when unknown)."""
        return next((s.title for s in self.steps if s.id == step_id), step_id)

    def summary(self, doc: dict, *, ran: list[str], log_path: Path | str | None = None) -> None:
        """The closing summary: each step's result and time, where things are, what next."""
        self._flush()
        self._stop_live()
        self.console.print()
        for renderable in outline.summary(doc, self.steps, ran=ran, log_path=log_path,
                                          state_dir=self.state_dir,
                                          elapsed=time.monotonic() - self.started):
            self.console.print(renderable, soft_wrap=True)

    # -- the live region ---------------------------------------------------------------------------
    def _live_renderable(self):
        """What the live region shows now: progress bars, then the monitoring picture."""
        from rich.console import Group

        parts = []
        if self._progress is not None and self._tasks:
            parts.append(self._progress.get_renderable())
        parts.extend(v for v in (self._views.get("graph"), self._views.get("resources")) if v)
        return Group(*parts)

    def _refresh_live(self) -> None:
        """Start the live region when there is something to show, redraw it, or end it."""
        if not (self._tasks or self._views):
            self._stop_live()
            return
        if self._live is None:
            from rich.live import Live

            self._live = Live(console=self.console, get_renderable=self._live_renderable,
                              transient=True, refresh_per_second=4, redirect_stdout=False,
                              redirect_stderr=False)
            self._live.start()
        self._live.refresh()

    def _stop_live(self) -> None:
        """End the live region (its last picture is gone; the printed lines tell the story)."""
        self._views = {}
        if self._live is not None:
            self._live.stop()
            self._live = None
        if not self._tasks:
            self._progress = None

    def close(self) -> None:
        """Print what is held, stop any live display."""
        self._flush()
        self._tasks = {}
        self._stop_live()
