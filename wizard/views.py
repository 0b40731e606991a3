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
            table.add_column(str(column))
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
    "pending": ("·", "dim"), "": ("·", "dim"),
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


def graph_view(data: dict):
    """A pipeline run as a tree of tasks, each with its state.

    ``data``: ``{"run": {"name", "id", "state", "error"}, "tasks": [{"name", "state",
    "depends_on": [names]}]}``. Every key but ``tasks[].name`` may be missing.
    """
    from rich.console import Group
    from rich.text import Text

    run = data.get("run") or {}
    lines = []
    if run:
        glyph, style = state_style(run.get("state"))
        head = Text.assemble(("Run ", "bold"), (str(run.get("name") or run.get("id") or "?"), "bold"),
                             "  ", (f"{glyph} {run.get('state') or 'pending'}", style))
        if run.get("id") and run.get("name"):
            head.append(f"  id {run['id']}", "dim")
        lines.append(head)
        if run.get("error"):
            lines.append(Text(f"  {run['error']}", "red"))
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


def resources_view(data):
    """SageMaker resources as a table of statuses, each followed by the tail of its logs.

    ``data``: a list of ``{"kind", "name", "status", "secondary", "failure", "log_tail": [lines]}``
    (or ``{"resources": [...]}``); ``secondary`` is a status detail such as a training job's
    secondary status, ``failure`` the resource's failure reason.
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    items = data.get("resources", []) if isinstance(data, dict) else list(data or [])
    table = Table(show_edge=False, expand=True, pad_edge=False)
    for column, ratio, wrap in (("kind", 2, False), ("name", 3, True), ("status", 2, False),
                                ("detail", 3, True)):
        # kinds and statuses are single words: cut them rather than break them across lines
        table.add_column(column, ratio=ratio, overflow="fold" if wrap else "ellipsis", no_wrap=not wrap)
    tails = []
    for item in items:
        glyph, style = state_style(item.get("status"))
        detail = item.get("failure") or item.get("secondary") or ""
        table.add_row(str(item.get("kind", "")), str(item.get("name", "")),
                      Text(f"{glyph} {item.get('status') or 'pending'}", style),
                      Text(str(detail), "red" if item.get("failure") else ""))
        tail = [str(line) for line in item.get("log_tail") or []]
        if tail:
            tails.append(Text(f"── {item.get('kind', '')} {item.get('name', '')} (last {len(tail)} "
                              "log lines)", "bold"))
            tails.extend(Text("  " + line, "dim") for line in tail)
    if not items:
        return Text("No SageMaker resources reported yet.", "dim")
    return Group(table, *tails)
