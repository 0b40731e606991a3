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


#: the choices of the summary of found values and defaults
USE, CHANGE, ADVANCED = ("Use these", "Change some of them",
                         "Use these, and show me every step's advanced settings")


class Asker:
    """Asks the user. The object itself is the runner's prompter (``begin`` and ``review`` let the
    resolver say which step asks, and confirm found values and defaults on one summary);
    ``confirm`` is the runner's confirm.

    ``announce(step_id)`` prints a step's header (the headless reporter's, so that the header is
    printed once whether the step asks first or starts first). Every question counts in
    ``asked``: the number of decisions the learner made.
    """

    def __init__(self, fancy: bool | None = None, announce=None) -> None:
        """Use inquirer when ``fancy`` (default: when the terminal can redraw)."""
        self.fancy = cursor_terminal() if fancy is None else fancy
        self.announce = announce
        self.advanced = False  # the learner asked to see every step's advanced settings
        self.asked = 0

    def __call__(self, spec: InputSpec, default: Any, error: str | None) -> Any:
        """The runner's prompter: ask for one input."""
        return self.prompter(spec, default, error)

    def begin(self, step) -> None:
        """A step is about to ask: its header first."""
        if self.announce is not None:
            self.announce(step.id)

    def review(self, step, found: list) -> bool:
        """Show the values found and the defaults of ``step`` at once; True to use them all.

        Only the detected values are asked about (one decision for all of them); advanced
        defaults are shown in one line and used, unless the learner chose to see every step's
        advanced settings at an earlier summary.
        """
        detected = [(s, v) for s, v in found if s.level == "detected"]
        advanced = [(s, v) for s, v in found if s.level != "detected"]
        if not detected and not self.advanced:
            click.echo(click.style("  Defaults: " + "; ".join(f"{_label(s)}: {_shown(s, v)}"
                                                              for s, v in advanced)
                                   + ". (Advanced settings: change them with --answers FILE.)",
                                   dim=True))
            return True
        if detected:
            click.echo("  This is what labwiz found:")
            for spec, value in detected:
                click.echo(f"    {_label(spec)}: {click.style(_shown(spec, value), bold=True)}")
        if advanced:
            click.echo("  Advanced settings (the defaults suit most labs):")
            for spec, value in advanced:
                click.echo(f"    {_label(spec)}: {_shown(spec, value)}")
        options = [USE, CHANGE] + ([] if self.advanced else [ADVANCED])
        choice = self.choose("Use these values?", options, default=USE)
        if choice == ADVANCED:
            self.advanced = True
        return choice != CHANGE

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
        self.asked += 1
        if self.fancy:
            import inquirer

            return bool(inquirer.confirm(question, default=default))
        return click.confirm(question, default=default)

    def choose(self, question: str, choices: list, default: Any = None) -> Any:
        """One of ``choices``."""
        self.asked += 1
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
        self.asked += 1
        if self.fancy:
            import inquirer

            return list(inquirer.checkbox(question, choices=choices, default=default))
        text = click.prompt(f"{question} (comma-separated from: {', '.join(map(str, choices))})",
                            default=", ".join(map(str, default)) or None)
        return [part.strip() for part in str(text).split(",") if part.strip()]

    def _secret(self, question: str) -> str:
        """A value typed without echo."""
        self.asked += 1
        if self.fancy:
            import inquirer

            return inquirer.password(question)
        return click.prompt(question, hide_input=True, default="", show_default=False)

    def _text(self, question: str, default: Any) -> str:
        """Free text, with the default offered."""
        self.asked += 1
        shown = ", ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        if self.fancy:
            import inquirer

            return inquirer.text(question, default=None if shown is None else str(shown))
        return click.prompt(question, default=None if shown is None else str(shown), show_default=True)


def _label(spec: InputSpec) -> str:
    """A question's text without its "(empty: …)" note, which :func:`_shown` uses instead."""
    return spec.prompt.split(" (empty:")[0]


def _shown(spec: InputSpec, value: Any) -> str:
    """A value as the summary shows it: an empty one as what empty means for this question."""
    if value is None or value == "" or value == []:
        if "(empty: " in spec.prompt:
            return spec.prompt.split("(empty: ", 1)[1].rstrip(")")
        return "none"
    if spec.secret:
        return "(given)"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)
