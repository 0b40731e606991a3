"""Choosing a front-end for a bare ``labwiz``: the TUI, plain prompts, or help.

Textual draws on stderr and hangs without a terminal, so the TUI starts only when stdin and
stderr are TTYs and TERM is not ``dumb``. Otherwise plain prompts when stdin is a TTY; with no
terminal at all, the headless runner when ``--answers`` or ``--yes`` says how to answer, and help
when nothing can be asked.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Callable

import click


def usable_terminal() -> bool:
    """Whether a full-screen TUI can run here."""
    term = os.environ.get("TERM", "")
    return sys.stdin.isatty() and sys.stderr.isatty() and term not in ("", "dumb")


def pause_gc() -> None:
    """Pause Python's cyclic garbage collector while the TUI starts (:func:`resume_gc` ends it).

    Importing Textual and building the first screen allocate a few hundred thousand objects that
    all live as long as the app; the collector would walk them again and again on the way (about
    a tenth of the CPU to the first paint) and find nothing to free.
    """
    gc.disable()


def resume_gc() -> None:
    """Start the collector again after the TUI's first frame (and whenever the app ends). What
    start-up built is frozen first (moved out of the collector's generations): it lives as long
    as the app, so later collections need not walk it."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def launch(ctx: click.Context, headless: Callable[[], int] | None = None) -> None:
    """Start the best front-end this terminal supports; with no terminal to ask in, the
    ``headless`` runner when the user gave ``--answers`` or ``--yes``, else help."""
    obj = ctx.obj
    if usable_terminal() and not obj.get("plain"):
        # textual and inquirer are labwiz's own dependencies: an ImportError is a broken
        # install and surfaces as one, never as a silent fall back to another front-end
        pause_gc()
        from wizard.tui.app import run_app

        ctx.exit(run_app(obj))
    if sys.stdin.isatty() and sys.stdout.isatty():
        from wizard.plain import run_plain

        ctx.exit(run_plain(obj))
    if headless is not None and (obj.get("answers") or obj.get("yes")):
        ctx.exit(headless())
    click.echo(ctx.get_help())
    click.echo("\nNo interactive terminal, so nothing can be asked: give the answers and run "
               "headless, e.g. 'labwiz --answers FILE --yes' (or 'labwiz run --sandbox --yes').")
