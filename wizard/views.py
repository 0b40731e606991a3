"""Rich renderings of the structured views steps send through ``Reporter.show``.

Kinds: ``table`` ({"title", "columns", "rows"}), ``digits`` (see :func:`digits_view`), ``kv``
({"title", "items"}), ``graph`` (see :func:`graph_view`) and ``resources`` (see
:func:`resources_view`). An unknown kind renders as nothing rather than failing a step. The TUI
draws the same renderables, so the headless run and the TUI show one picture of the data.
"""

from __future__ import annotations

from typing import Any


def render(kind: str, data: Any):
    """A rich renderable for ``kind``, or None when the kind is unknown."""
    from rich.table import Table

    if kind == "table":
        table = Table(title=data.get("title"), show_lines=False)
        for column in data.get("columns", []):
            # folded, never cut: a cleanup plan must name each thing it deletes whole
            table.add_column(str(column), overflow="fold")
        for row in data.get("rows", []):
            table.add_row(*[str(c) for c in row])
        return table
    if kind == "kv":
        table = Table(title=data.get("title"), show_header=False, box=None)
        table.add_column(style="bold")
        table.add_column()
        for key, value in data.get("items", []):
            table.add_row(str(key), str(value))
        return table
    if kind == "digits":
        return digits_view(data)
    if kind == "graph":
        return graph_view(data)
    if kind == "resources":
        return resources_view(data)
    return None


def digit_lines(pixels: list[float], width: int = 28) -> list[str]:
    """A 28×28 digit as 14 text lines using half blocks (two pixel rows per character row)."""
    shades = " ░▒▓█"
    rows = [pixels[i:i + width] for i in range(0, len(pixels), width)]
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2]):
        line = ""
        for a, b in zip(top, bottom):
            v = max(0.0, min(1.0, (float(a) + float(b)) / 2))
            line += shades[min(len(shades) - 1, int(v * len(shades)))]
        lines.append(line)
    return lines


def digits_view(data: dict):
    """Digits drawn side by side with their label, predicted cluster and distance."""
    from rich.columns import Columns
    from rich.panel import Panel

    panels = []
    for item in data.get("digits", []):
        art = "\n".join(digit_lines(item["pixels"]))
        caption = f"cluster {item.get('cluster')}  d={item.get('distance', 0):.2f}"
        if item.get("label") is not None:
            caption = f"label {item['label']} → " + caption
        panels.append(Panel(art, title=caption, expand=False))
    return Columns(panels)


#: how each task or resource state is drawn: (glyph, style)
STATE_STYLES = {
    "succeeded": ("✔", "green"), "done": ("✔", "green"), "complete": ("✔", "green"),
    "completed": ("✔", "green"), "inservice": ("✔", "green"), "synced": ("✔", "green"),
    "running": ("●", "yellow"), "inprogress": ("●", "yellow"), "creating": ("●", "yellow"),
    "updating": ("●", "yellow"), "stopping": ("●", "yellow"), "deleting": ("●", "yellow"),
    "failed": ("✘", "red"), "error": ("✘", "red"), "stopped": ("■", "red"),
    "canceled": ("■", "red"), "cancelled": ("■", "red"), "skipped": ("↷", "dim"),
    "pending": ("·", "dim"), "": ("·", "dim"), "interrupted": ("◌", "yellow"),
    "declined": ("↷", "yellow"),
}


def state_style(state: str | None) -> tuple[str, str]:
    """The glyph and style for a task, step or resource state (case and spacing ignored)."""
    key = str(state or "").replace("_", "").replace(" ", "").replace("-", "").lower()
    return STATE_STYLES.get(key, ("?", "magenta"))


def graph_layers(tasks: list[dict]) -> list[list[dict]]:
    """Tasks grouped by depth: a task sits one layer below the deepest task it depends on.

    Unknown dependencies are ignored and a cycle (which KFP never produces) falls back to the
    listed order, so a malformed report still draws every task once.
    """
    by_name = {t["name"]: t for t in tasks}
    depth: dict[str, int] = {}

    def visit(name: str, trail: tuple = ()) -> int:
        """The depth of ``name``, computed once (a cycle counts as a root)."""
        if name in depth:
            return depth[name]
        if name in trail:
            return 0
        parents = [d for d in by_name[name].get("depends_on", []) or [] if d in by_name]
        depth[name] = 1 + max((visit(p, trail + (name,)) for p in parents), default=-1)
        return depth[name]

    for task in tasks:
        visit(task["name"])
    layers: list[list[dict]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for task in tasks:
        layers[depth[task["name"]]].append(task)
    return layers


#: keys of ``graph`` and ``resources`` data that change on every refresh without anything
#: having happened; a front-end that prints (rather than redraws) compares views without them
LIVE_KEYS = frozenset({"elapsed_s", "log_tail"})


def without_live(data: Any) -> Any:
    """``data`` with every :data:`LIVE_KEYS` entry removed, at any depth."""
    if isinstance(data, dict):
        return {k: without_live(v) for k, v in data.items() if k not in LIVE_KEYS}
    if isinstance(data, list):
        return [without_live(v) for v in data]
    return data


def format_elapsed(seconds: float | None) -> str:
    """``42 s``, ``3m 05s`` or ``1h 02m``; empty when unknown."""
    if seconds is None:
        return ""
    total = int(max(0.0, float(seconds)))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def graph_view(data: dict, compact: bool = False, width: int | None = None):
    """A pipeline run as a tree of tasks, each with its state.

    ``data``: ``{"run": {"name", "id", "state", "error", "elapsed_s"}, "tasks": [{"name",
    "state", "depends_on": [names]}]}``. Every key but ``tasks[].name`` may be missing.
    ``compact`` (a narrow or short pane): the tasks in order as one wrapped line of glyphs and
    names, the state spelled out only for tasks that are neither pending nor done.
    """
    from rich.console import Group
    from rich.text import Text

    run = data.get("run") or {}
    lines = []
    if run:
        glyph, style = state_style(run.get("state"))
        head = Text.assemble(("Run ", "bold"), (str(run.get("name") or run.get("id") or "?"), "bold"),
                             "  ", (f"{glyph} {run.get('state') or 'pending'}", style))
        if run.get("elapsed_s") is not None:
            head.append(f"  {format_elapsed(run['elapsed_s'])}", "bold")
        if run.get("id") and run.get("name") and not compact:
            head.append(f"  id {run['id']}", "dim")
        lines.append(head)
        if run.get("error"):
            lines.append(Text(f"  {run['error']}", "red"))
    if compact:
        # every task in the pipeline's own order, its state as glyph and colour (the words take
        # too much room), packed into lines of ``width`` without breaking a name
        tasks = list(data.get("tasks") or [])
        line = Text()
        for task in tasks:
            glyph, style = state_style(task.get("state"))
            chip = f"{glyph} {task['name']}"
            if line and width and len(line) + 2 + len(chip) > width:
                lines.append(line)
                line = Text()
            if line:
                line.append("  ")
            line.append(chip, style)
        lines.append(line if tasks else Text("No tasks reported yet.", "dim"))
        return Group(*lines)
    for depth, layer in enumerate(graph_layers(list(data.get("tasks") or []))):
        for task in layer:
            glyph, style = state_style(task.get("state"))
            line = Text("   " * depth + ("└▶ " if depth else ""))
            line.append(f"{glyph} {task['name']}", style)
            line.append(f"  {task.get('state') or 'pending'}", "dim")
            deps = task.get("depends_on") or []
            if len(deps) > 1:
                line.append(f"  after {', '.join(deps)}", "dim")
            lines.append(line)
    if len(lines) == (1 if run else 0):
        lines.append(Text("No tasks reported yet.", "dim"))
    return Group(*lines)


def _conditions(item: dict) -> list[tuple[str, str, str]]:
    """``(type, status, message)`` of a resource's conditions (a list of ACK condition dicts,
    or the older ``{type: status}`` form)."""
    raw = item.get("conditions") or []
    if isinstance(raw, dict):
        return [(str(t), str(v), "") for t, v in raw.items()]
    return [(str(c.get("type") or ""), str(c.get("status") or ""), str(c.get("message") or ""))
            for c in raw if isinstance(c, dict)]


def _condition_line(ctype: str, status: str, message: str):
    """One condition as ``ACK.Terminal  True  message``, red when it reports a problem."""
    from rich.text import Text

    bad = (ctype in ("ACK.Terminal", "ACK.Recoverable") and status == "True") or \
        (ctype == "ACK.ResourceSynced" and status == "False" and bool(message) and
         "status" not in message)  # "is in InProgress status." is progress, not trouble
    style = "red" if bad else ("green" if status == "True" else "yellow")
    line = Text("  ")
    line.append(f"{ctype:<19} {status:<5}", style)
    if len(message) > 300:  # a ValidationException can list hundreds of allowed values
        message = message[:299] + "…"
    if message:
        line.append(f"  {message}", "red" if bad else "dim")
    return line


#: short names of the ACK SageMaker kinds, for narrow tables
SHORT_KINDS = {"HyperParameterTuningJob": "TuningJob", "EndpointConfig": "EndpointCfg",
               "ProcessingJob": "Processing", "TrainingJob": "Training",
               "TransformJob": "Transform"}


def _common_suffix(names: list[str]) -> str:
    """The ``-<run id>`` ending every name shares (at least 6 characters), else ''."""
    if len(names) < 2:
        return ""
    ends = {n.rsplit("-", 1)[-1] for n in names if "-" in n}
    if len(ends) == 1 and all("-" in n for n in names):
        end = "-" + ends.pop()
        return end if len(end) > 6 else ""
    return ""


def resources_view(data, compact: bool = False):
    """SageMaker resources as a table of statuses, then per resource its ACK conditions and the
    tail of its logs (for a tuning job, its watched training jobs' tails).

    ``data``: a list of ``{"kind", "name", "status", "secondary", "failure", "elapsed_s",
    "conditions": [{"type", "status", "message"}], "log_tail": [lines], "children": [{"name",
    "status", "best", "objective", "log_tail"}]}`` (or ``{"resources": [...]}``); ``secondary``
    is a status detail such as a training job's secondary status, ``failure`` the resource's
    failure reason. Only ``kind`` and ``name`` are required. ``compact`` (a narrow or short
    pane): kinds abbreviated, and conditions and log tails only for resources still at work or
    failed (a finished one's status says all).
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from rich import box

    items = data.get("resources", []) if isinstance(data, dict) else list(data or [])
    timed = any(item.get("elapsed_s") is not None for item in items)
    kinds = [SHORT_KINDS.get(str(i.get("kind", "")), str(i.get("kind", ""))) if compact
             else str(i.get("kind", "")) for i in items]
    names = [str(i.get("name", "")) for i in items]
    suffix = _common_suffix(names) if compact else ""
    title = None
    if suffix:  # the run's id ends every name: said once in the title, not on every row
        names = [n[: -len(suffix)] + "…" for n in names]
        title = Text(f"names end in {suffix}", "dim")
    table = Table(show_edge=False, expand=True, pad_edge=False, title=title, title_justify="left",
                  box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD)
    # statuses and elapsed times are never cut: their columns are as wide as their longest value
    status_width = max([len(f"x {i.get('status') or 'pending'}") for i in items] + [6])
    columns = [("kind", max(map(len, kinds), default=4), False), ("name", None, True),
               ("status", status_width, False)] + ([] if compact else [("detail", None, True)])
    if timed:
        columns.insert(3, ("elapsed", 7, False))
    for column, width, wrap in columns:
        # kinds and statuses are single words: never broken across lines
        table.add_column(column, min_width=width, ratio=None if width else 1,
                         overflow="fold" if wrap else "ellipsis", no_wrap=not wrap)
    sections = []
    for kind, name, item in zip(kinds, names, items):
        glyph, style = state_style(item.get("status"))
        detail = item.get("failure") or item.get("secondary") or ""
        cells = [kind, name, Text(f"{glyph} {item.get('status') or 'pending'}", style)]
        if not compact:
            cells.append(Text(str(detail), "red" if item.get("failure") else ""))
        if timed:
            cells.insert(3, format_elapsed(item.get("elapsed_s")))
        table.add_row(*cells)
        conditions = _conditions(item)
        tail = [str(line) for line in item.get("log_tail") or []]
        children = [c for c in item.get("children") or [] if isinstance(c, dict)]
        if not (conditions or tail or children):
            continue
        if compact and glyph == "✔":
            continue  # finished well: the table row says all
        if compact:  # only conditions that report a problem; progress is in the table
            conditions = [c for c in conditions if c[0] in ("ACK.Terminal", "ACK.Recoverable")
                          and c[1] == "True"]
            if detail and not item.get("failure"):
                head_detail = f" · {detail}"
            else:
                head_detail = ""
            sections.append(Text(f"── {kind} {name}{head_detail}", "bold"))
            sections.extend(_condition_line(*c) for c in conditions)
            sections.extend(Text("  " + line, "dim", no_wrap=True, overflow="ellipsis")
                            for line in tail)
            for child in children:
                if child.get("status") in ("InProgress", "Stopping") or child.get("best"):
                    sections.append(Text(f"   └ {child.get('name', '')} ({child.get('status', '')})",
                                         "bold"))
                    sections.extend(Text("     " + str(x), "dim", no_wrap=True, overflow="ellipsis")
                                    for x in (child.get("log_tail") or [])[-2:])
            continue
        head = f"── {item.get('kind', '')} {item.get('name', '')}"
        sections.append(Text(head + (f" (last {len(tail)} log lines)" if tail else ""), "bold"))
        sections.extend(_condition_line(*c) for c in conditions)
        sections.extend(Text("  " + line, "dim") for line in tail)
        for child in children:
            lines = [str(line) for line in child.get("log_tail") or []]
            what = ", ".join(p for p in ("best" if child.get("best") else "",
                                         str(child.get("status") or "")) if p)
            if isinstance(child.get("objective"), (int, float)):
                what += f", objective {child['objective']:.4g}"
            sections.append(Text(f"   └ training job {child.get('name', '')} ({what})"
                                 + (f", last {len(lines)} log lines" if lines else ", no logs yet"),
                                 "bold"))
            sections.extend(Text("     " + line, "dim") for line in lines)
    if not items:
        return Text("No SageMaker resources reported yet.", "dim")
    return Group(table, *sections)
