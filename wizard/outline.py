"""Short printed forms of the lab's views, for output that is appended rather than redrawn.

A redrawing front-end (the TUI, a terminal's live region) shows the whole monitoring picture on
every poll; printed output shows only what changed since (:class:`MonitorChanges`). Tables longer
than a screen are grouped by their first column, digits are drawn cropped side by side, and the
closing summary of a run is built here (:func:`summary`). Nothing here imports Textual.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from rich.text import Text

#: a table with more rows than this is printed grouped by its first column
GROUP_ABOVE = 12
#: ACK condition types that report a problem when True
PROBLEM_CONDITIONS = ("ACK.Terminal", "ACK.Recoverable")


def format_duration(seconds: float | None) -> str:
    """``3.2 s``, ``4m 05s`` or ``''`` when unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _line(text: str, style: str = "", width: int = 100) -> Text:  # noqa: D401
    """One printed line, never wrapped (a log line is read at a glance): a longer one loses its
    middle, so that its start and its end (often the telling part: a file name, a count) stay."""
    if len(text) > width:
        keep = width - 1
        head = keep * 2 // 5
        text = text[:head] + "…" + text[len(text) - (keep - head):]
    return Text(text, style, no_wrap=True, overflow="ellipsis")


class MonitorChanges:
    """Turns the monitoring views sent on every poll into the lines that are new since the last.

    New: the pipeline's shape (once per run), the run's state, each resource's log lines not
    printed before (its own, and those of a tuning job's training jobs), and each problem
    condition or failure reason the first time it appears. Task and resource state changes are
    logged by the monitor itself, so they are not repeated here.
    """

    def __init__(self) -> None:
        """Nothing printed yet."""
        self.runs: dict[str, str] = {}
        self.tails: dict[str, set[str]] = {}
        self.problems: set[tuple] = set()
        self.width = 100

    def changes(self, kind: str, data: Any, width: int = 100) -> list[Text]:
        """The lines to print for this poll's ``graph`` or ``resources`` view."""
        if kind == "graph":
            return self._graph(data or {})
        if kind == "resources":
            items = data.get("resources", []) if isinstance(data, dict) else list(data or [])
            self.width = width
            return self._resources([i for i in items if isinstance(i, dict)])
        return []

    def _graph(self, data: dict) -> list[Text]:
        """The pipeline's order once, then the run's state when it changes."""
        from wizard.views import format_elapsed, graph_layers, state_style

        run = data.get("run") or {}
        rid = str(run.get("id") or run.get("name") or "run")
        state = str(run.get("state") or "PENDING")
        out = []
        if rid not in self.runs:
            layers = graph_layers(list(data.get("tasks") or []))
            order = " → ".join(", ".join(t["name"] for t in layer) for layer in layers)
            out.append(Text(f"Pipeline ({sum(map(len, layers))} tasks): {order}", "dim"))
        # a run first seen PENDING or RUNNING, or going from PENDING to RUNNING: the step's own
        # line said it started (or that it follows it again); only later changes are printed
        first = rid not in self.runs and state in ("PENDING", "RUNNING") or \
            (self.runs.get(rid) == "PENDING" and state == "RUNNING")
        if self.runs.get(rid) != state and not first \
                and state not in ("SUCCEEDED", "FAILED", "CANCELED"):
            glyph, style = state_style(state)
            elapsed = format_elapsed(run.get("elapsed_s"))
            out.append(Text.assemble(f"Run {rid}: ", (f"{glyph} {state}", style),
                                     (f" after {elapsed}" if elapsed and rid in self.runs else "",
                                      "dim")))
        self.runs[rid] = state
        return out

    def _resources(self, items: list[dict]) -> list[Text]:
        """New problem conditions, failure reasons and log lines of each resource."""
        out = []
        for item in items:
            name = str(item.get("name", ""))
            failure = str(item.get("failure") or "")
            if failure and ("failure", name, failure) not in self.problems:
                self.problems.add(("failure", name, failure))
                out.append(Text(f"  {item.get('kind', '')} {name} failed: {failure}", "red"))
            for cond in item.get("conditions") or []:
                if not isinstance(cond, dict):
                    continue
                ctype, status = str(cond.get("type") or ""), str(cond.get("status") or "")
                message = str(cond.get("message") or "")
                key = ("condition", name, ctype, message)
                if ctype in PROBLEM_CONDITIONS and status == "True" and key not in self.problems \
                        and message != failure:
                    self.problems.add(key)
                    out.append(Text(f"  {name}: {ctype}: {message}",
                                    "red" if ctype == "ACK.Terminal" else "yellow"))
            out.extend(self._tail(name, name, item.get("log_tail")))
            # a tuning job's training jobs log as the lab's training job will: their lines are
            # left to the TUI's Monitor tab (and 'kubectl logs'); how many ran is said once
            children = [c for c in item.get("children") or [] if isinstance(c, dict)]
            with_logs = [c for c in children if c.get("log_tail")]
            if with_logs and (name, "children") not in self.problems:
                self.problems.add((name, "children"))
                out.append(Text(f"  {name}: its training jobs log like the training job below "
                                "(the TUI shows them).", "dim"))
        return out

    def _tail(self, key: str, label: str, lines: Iterable | None) -> list[Text]:
        """The lines of a log tail not printed before, each prefixed with whose they are."""
        seen = self.tails.setdefault(key, set())
        out = []
        for line in [str(x) for x in lines or []]:
            if line in seen or not line.strip():
                continue
            seen.add(line)
            prefix = f"  {label} │ "
            out.append(Text(prefix, "dim") + _line(line, "dim", max(20, self.width - len(prefix))))
        return out


def live_view(kind: str, data: Any):
    """What a terminal's live region shows of a monitoring view: the graph, or the resources'
    status table without the log tails (those are printed as they arrive)."""
    from wizard.views import render, resources_view

    if kind == "resources":
        items = data.get("resources", []) if isinstance(data, dict) else list(data or [])
        return resources_view([{k: v for k, v in i.items()
                                if k not in ("log_tail", "children", "conditions")}
                               for i in items if isinstance(i, dict)])
    return render(kind, data)


def compact(kind: str, data: Any, width: int = 100, *, unattended: bool = False):
    """A printed form of a ``table`` or ``digits`` view shorter than the TUI's, or None to use
    the usual renderer.

    ``unattended`` (nobody is asked to confirm): a table whose rows are each named again as they
    are acted on (``named_later``, e.g. cleanup's plan) prints counted by its first column.
    """
    if kind == "table" and isinstance(data, dict):
        rows = data.get("rows") or []
        if data.get("brief"):  # the table's gist, in a line or two (the TUI shows it whole)
            return Text(str(data["brief"]))
        if unattended and data.get("named_later") and rows:
            return counted_table(data)
        if (data.get("columns") or [None])[0] == "" and len(rows) <= GROUP_ABOVE:
            return marked_list(data)
        if len(rows) > GROUP_ABOVE:
            return grouped_table(data)
        return plain_table(data, width)
    if kind == "digits" and isinstance(data, dict):
        return digits_row(data, width)
    if kind == "kv" and isinstance(data, dict) and data.get("items"):
        # a short record as a paragraph: "Title: key value · key value …", values whole
        text = Text(f"{data.get('title')}: " if data.get("title") else "", "bold")
        for index, (key, value) in enumerate(data["items"]):
            text.append(("" if index == 0 else " · ") + f"{key} ", "dim")
            text.append(str(value))
        return text
    return None


def counted_table(data: dict) -> Text:
    """A table whose rows are each named later, as its title and how many kinds of thing."""
    kinds = {str(row[0]) for row in data.get("rows") or [] if row}
    return Text.assemble((f"{data.get('title') or 'Table'}", "bold"),
                         f" ({len(kinds)} kind(s); each is named below as it is handled).")


def marked_list(data: dict) -> Text:
    """A short table whose first column marks rows (✔ selected) as one paragraph: each row's
    name marked or not, with the other short values in brackets (a value shared by every row is
    said once); prose columns (longer than :data:`SHORT_VALUE`) are left to the TUI."""
    columns = [str(c) for c in data.get("columns") or []]
    rows = [[str(c) for c in row] for row in data.get("rows") or []]
    shared, varying = [], []
    for index, column in enumerate(columns[2:], start=2):
        values = {r[index] for r in rows if index < len(r)}
        if any(len(v) > SHORT_VALUE for v in values):
            continue
        if len(values) == 1:
            shared.append(f"{column} {next(iter(values))}" if next(iter(values)) else "")
        else:
            varying.append(index)
    marks = sorted({r[0] for r in rows if r and r[0]})
    text = Text(str(data.get("title") or ""), "bold")
    notes = [s for s in shared if s] + [f"{m} marks the chosen ones" for m in marks]
    text.append((f" ({', '.join(notes)})" if notes else "") + ": ")
    items = []
    for row in rows:
        extra = [row[i] for i in varying if i < len(row) and row[i]]
        items.append((f"{row[0]} " if row[0] else "") + (row[1] if len(row) > 1 else "")
                     + (f" ({', '.join(extra)})" if extra else ""))
    text.append(", ".join(items) + ".")
    return text


def plain_table(data: dict, width: int):
    """A table without a frame; a column of long prose is cut at the width, names wrap whole."""
    from rich import box
    from rich.table import Table

    columns = [str(c) for c in data.get("columns") or []]
    rows = [[str(c) for c in row] for row in data.get("rows") or []]
    table = Table(title=data.get("title"), box=box.SIMPLE_HEAD, title_justify="left",
                  title_style="bold", pad_edge=False, show_edge=False)
    longest = [max([len(r[i]) for r in rows if i < len(r)] + [len(c)]) for i, c in enumerate(columns)]
    prose = [n > width // 2 and " " in "".join(r[i] for r in rows if i < len(r))
             for i, n in enumerate(longest)]
    # short columns (kinds, versions) keep their width; prose gets what is left, cut with …
    rest = width - sum(min(n, 32) + 2 for n, p in zip(longest, prose) if not p)
    for index, column in enumerate(columns):
        if prose[index]:
            table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=max(10, rest - 2))
        else:
            table.add_column(column, overflow="fold", min_width=min(longest[index], 32))
    for row in rows:
        table.add_row(*row)
    return table


#: in a grouped table, values of the other columns longer than this are left out (the TUI and
#: ``labwiz status`` show them); shorter ones (a result, a status) stay
SHORT_VALUE = 20


def grouped_table(data: dict):
    """A long table as one paragraph per value of its first column, naming every item of the
    second column whole: the other columns' short values go in the group's heading when the same
    for the whole group, else beside each item."""
    from rich.console import Group

    columns = [str(c) for c in data.get("columns") or []]
    rows = [[str(c) for c in row] for row in data.get("rows") or []]
    groups: dict[str, list[list[str]]] = {}
    for row in rows:
        groups.setdefault(row[0] if row else "", []).append(row[1:])
    parts: list = [Text(str(data.get("title") or ""), "bold")] if data.get("title") else []
    for first, members in groups.items():
        same = []
        varying = []
        for index, column in enumerate(columns[2:], start=1):
            values = {m[index] for m in members if index < len(m)}
            if any(len(v) > SHORT_VALUE for v in values):
                continue
            if len(values) == 1 and next(iter(values)):
                same.append(f"{column} {next(iter(values))}")
            elif len(values) > 1:
                varying.append(index)
        prefix = shared_prefix([m[0] for m in members if m])
        if prefix:
            same.append(f"in {prefix}")
        names = []
        for member in members:
            extra = [member[i] for i in varying if i < len(member) and member[i]]
            names.append(member[0][len(prefix):] + (f" ({', '.join(extra)})" if extra else ""))
        head = Text.assemble(("  " + first, "bold"), f" ({len(members)}"
                             + ("".join(f", {s}" for s in same)) + "): ")
        head.append(", ".join(names))
        parts.append(head)
    return Group(*parts)


def digits_row(data: dict, width: int):
    """As many digits as fit in one row, cropped to where any of them has ink, each captioned
    with its label and cluster; the others are counted."""
    from rich.console import Group

    from wizard.views import digit_lines

    items = [d for d in data.get("digits") or [] if isinstance(d, dict) and d.get("pixels")]
    if not items:
        return None
    drawn = [digit_lines(d["pixels"]) for d in items]
    rows = [i for i in range(len(drawn[0])) if any(art[i].strip() for art in drawn)]
    cols = [c for c in range(len(drawn[0][0])) if any(art[r][c] != " " for art in drawn for r in rows)]
    top, bottom = (rows[0], rows[-1]) if rows else (0, len(drawn[0]) - 1)
    left, right = (cols[0], cols[-1]) if cols else (0, len(drawn[0][0]) - 1)
    cell = max(right - left + 1, 9) + 2
    fit = max(1, min(len(items), width // cell))
    lines = []
    for r in range(top, bottom + 1):
        lines.append("".join(art[r][left:right + 1].ljust(cell) for art in drawn[:fit]).rstrip())
    captions = []
    for item in items[:fit]:
        label = item.get("label")
        mark = "" if "match" not in item else (" ✔" if item["match"] else " ✘")
        captions.append((f"{label}→c{item.get('cluster')}{mark}" if label is not None
                         else f"c{item.get('cluster')}").ljust(cell))
    head = "True label → the endpoint's cluster"
    if any("match" in d for d in items):
        head += f"; ✔ when that cluster is mostly this digit ({sum(bool(d.get('match')) for d in items)}" \
            f" of {len(items)}" + (f"; {fit} shown, all in the TUI" if len(items) > fit else "") + ")"
    parts: list = [Text(head + ":", "dim")]
    parts += [Text(line) for line in lines] + [Text("".join(captions).rstrip(), "dim")]
    if len(items) > fit and not any("match" in d for d in items):
        parts.append(Text(f"({len(items) - fit} more digit(s) in the TUI's Endpoint tab)", "dim"))
    return Group(*parts)


def summary(doc: dict, steps: list, *, ran: list[str], log_path=None, state_dir=None,
            elapsed: float | None = None) -> list:
    """The closing summary of a run: a line per step with its result and time, then where the
    lab's things are and what to do next."""
    from rich.table import Table

    from wizard.views import state_style

    recs = doc.get("steps") or {}
    table = Table(title="Summary", title_justify="left", title_style="bold", box=None,
                  pad_edge=False, show_edge=False, show_header=False)
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("result")
    table.add_column("took", justify="right")
    for number, step in enumerate(steps, 1):
        rec = recs.get(step.id) or {}
        status = rec.get("status", "pending")
        glyph, style = state_style(status)
        word = status if step.id in ran or status != "done" else "done earlier"
        if status == "skipped" and rec.get("declined"):
            word = "declined"
        took = format_duration(rec.get("duration_s")) if status == "done" else ""
        table.add_row(str(number), step.title, Text(f"{glyph} {word}", style), took)
    out: list = [table]
    outputs = {sid: (rec.get("outputs") or {}) for sid, rec in recs.items()}
    endpoint = outputs.get("endpoint-test", {}).get("endpoint_name") or \
        outputs.get("run-monitoring", {}).get("endpoint_name")
    if endpoint:
        removed = any(r.get("name") == endpoint and r.get("result") in ("removed", "gone")
                      for r in outputs.get("cleanup", {}).get("removed") or []
                      if isinstance(r, dict))
        cleaned = (recs.get("cleanup") or {}).get("status") == "done"
        where = "removed by cleanup" if removed or cleaned else "still running (and billing)"
        purity = outputs.get("endpoint-test", {}).get("purity")
        out.append(Text.assemble(("Endpoint: ", "bold"), endpoint, f" ({where})"
                                 + (f"; cluster purity {purity:.2f}" if isinstance(purity, float)
                                    else "")))
    for step in steps:  # what a declined step left, and how to do it later
        rec = recs.get(step.id) or {}
        if rec.get("status") == "skipped" and rec.get("declined"):
            note = rec.get("note") or {}
            out.append(Text.assemble((f"{step.title}: ", "bold"), str(note.get("message", "")),
                                     " " + str(note.get("remediation", ""))))
    run_id = outputs.get("run-monitoring", {}).get("run_id")
    if run_id:
        out.append(Text.assemble(("Pipeline run: ", "bold"), str(run_id),
                                 f" ({outputs['run-monitoring'].get('run_state', '?')})"))
    log_inside = log_path is not None and state_dir is not None and \
        str(log_path).startswith(str(state_dir).rstrip("/") + "/")
    if state_dir is not None:
        log_name = str(log_path)[len(str(state_dir).rstrip("/")) + 1:] if log_inside else ""
        out.append(Text.assemble(("State: ", "bold"), str(state_dir),
                                 "  ('labwiz status' shows the lab; commands/ has every command"
                                 + (f", {log_name} the log)" if log_name else ")")))
    if log_path and not log_inside:
        out.append(Text.assemble(("Log: ", "bold"), str(log_path)))
    if elapsed is not None:
        table.title = f"Summary ({format_duration(elapsed)} in all)"
    return out



#: a line that reports one resource: "<words> <kind> <name>." (e.g. "Removed iam-role lab-role.",
#: "Already gone: sagemaker-model m."): kinds are hyphenated lower-case words
RESOURCE_LINE = re.compile(r"^(?P<verb>[A-Z][\w ]*?:?) (?P<kind>[a-z0-9]+(?:-[a-z0-9]+)+) "
                           r"(?P<name>\S+?)\.?$")


def resource_line(message: str) -> tuple[str, str, str] | None:
    """``(verb, kind, name)`` of a line that reports one resource, else None."""
    match = RESOURCE_LINE.match(message.strip())
    return (match["verb"], match["kind"], match["name"]) if match else None


def shared_prefix(names: list[str]) -> str:
    """The path every name starts with (up to a ``/``, 20 characters or more), else ''."""
    if len(names) < 2:
        return ""
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    prefix = prefix[: prefix.rfind("/") + 1]
    return prefix if len(prefix) >= 20 else ""


def folded(reports: list[tuple[str, str, str]]) -> list[Text]:
    """Consecutive one-resource lines as one line per verb and kind, naming every resource:
    ``Removed custom-resource (7): a, b, …``; a path they share is said once."""
    groups: dict[tuple[str, str], list[str]] = {}
    for verb, kind, name in reports:
        groups.setdefault((verb, kind), []).append(name)
    lines: list[tuple[str, str]] = []  # (verb, what), single ones of a verb merged
    for (verb, kind), names in groups.items():
        if len(names) == 1:
            if lines and lines[-1][0] == verb and "):" not in lines[-1][1]:
                lines[-1] = (verb, f"{lines[-1][1]}, {kind} {names[0]}")
            else:
                lines.append((verb, f"{kind} {names[0]}"))
            continue
        prefix = shared_prefix(names)
        listed = ", ".join(n[len(prefix):] for n in names)
        lines.append((verb, f"{kind} ({len(names)}{', in ' + prefix if prefix else ''}): {listed}"))
    return [Text(f"{verb} {what}.") for verb, what in lines]
