"""Rich renderings of the structured views steps send through ``Reporter.show``.

Kinds: ``table`` ({"title", "columns", "rows"}), ``digits`` (see :func:`digits_view`), ``kv``
({"title", "items"}). An unknown kind renders as nothing rather than failing a step.
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
