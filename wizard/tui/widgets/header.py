"""The header bar: the app's name and where the lab runs."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class TargetBar(Static):
    """One line: ``labwiz`` and the target (sandbox, or AWS account, region, cluster, namespace)."""

    target = reactive("", layout=False)

    def render(self) -> Text:
        """Draw the name and the target; Textual redraws only when ``target`` changes."""
        return Text.assemble((" labwiz ", "bold reverse"), "  ", (self.target or "…", "bold"))
