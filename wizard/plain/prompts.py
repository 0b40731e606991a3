"""The plain front-end's questions: one input at a time, a confirmation, a choice.

``inquirer`` draws lists and checkboxes with the cursor keys; it needs a terminal that can move the
cursor, so on ``TERM=dumb`` (or without a TTY on stdout) the same questions are asked with plain
``click`` prompts, typed line by line.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from wizard.protocol import InputSpec


def cursor_terminal() -> bool:
    """Whether inquirer can redraw here (a TTY that is not ``TERM=dumb``)."""
    return sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM", "") not in ("", "dumb")


class Asker:
    """Asks the user; ``prompter`` and ``confirm`` match what :class:`wizard.engine.Runner` takes."""

    def __init__(self, fancy: bool | None = None) -> None:
        """Use inquirer when ``fancy`` (default: when the terminal can redraw)."""
        self.fancy = cursor_terminal() if fancy is None else fancy

    def prompter(self, spec: InputSpec, default: Any, error: str | None) -> Any:
        """Ask for one input (its help first, and why the last answer was refused)."""
        if error:
            click.secho(f"  {error}", fg="red")
        if spec.help:
            click.echo(click.style(f"  {spec.help}", dim=True))
        try:
            choices = spec.choices_for(None)
        except Exception:  # noqa: BLE001 - choices that need a service: ask as free text
            choices = []
        label = spec.prompt + ("" if spec.required else " (optional)")
        if spec.kind == "confirm":
            return self.confirm(label, default=bool(default))
        if choices and spec.kind == "multi":
            return self._checkbox(label, choices, default or [])
        if choices:
            return self.choose(label, choices, default=default)
        if spec.secret:
            return self._secret(label)
        return self._text(label, default)

    def confirm(self, question: str, default: bool = False) -> bool:
        """A yes/no question."""
        if self.fancy:
            import inquirer

            return bool(inquirer.confirm(question, default=default))
        return click.confirm(question, default=default)

    def choose(self, question: str, choices: list, default: Any = None) -> Any:
        """One of ``choices``."""
        if self.fancy:
            import inquirer

            return inquirer.list_input(question, choices=choices,
                                       default=default if default in choices else None)
        for number, choice in enumerate(choices, 1):
            click.echo(f"  {number}. {choice}")
        start = choices.index(default) + 1 if default in choices else 1
        picked = click.prompt(question, type=click.IntRange(1, len(choices)), default=start)
        return choices[picked - 1]

    def _checkbox(self, question: str, choices: list, default: list) -> list:
        """Several of ``choices``."""
        if self.fancy:
            import inquirer

            return list(inquirer.checkbox(question, choices=choices, default=default))
        text = click.prompt(f"{question} (comma-separated from: {', '.join(map(str, choices))})",
                            default=", ".join(map(str, default)) or None)
        return [part.strip() for part in str(text).split(",") if part.strip()]

    def _secret(self, question: str) -> str:
        """A value typed without echo."""
        if self.fancy:
            import inquirer

            return inquirer.password(question)
        return click.prompt(question, hide_input=True, default="", show_default=False)

    def _text(self, question: str, default: Any) -> str:
        """Free text, with the default offered."""
        shown = ", ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        if self.fancy:
            import inquirer

            return inquirer.text(question, default=None if shown is None else str(shown))
        return click.prompt(question, default=None if shown is None else str(shown), show_default=True)
