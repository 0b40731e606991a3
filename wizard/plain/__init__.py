"""The plain front-end: the lab with line-by-line prompts, for terminals where the TUI cannot run.

``run_plain(obj)`` says where the lab stands, offers to resume, reset to a step or start over, and
then runs the lab with :func:`wizard.session.run_headless`, asking for inputs and confirmations with
``inquirer`` (or plain ``click`` prompts on a ``TERM=dumb`` terminal, where inquirer cannot redraw).
"""

from __future__ import annotations

import click

from wizard.errors import ExitCode, LabwizError


def run_plain(obj: dict) -> int:
    """Run the lab with plain prompts; return the exit code."""
    from wizard.headless import HeadlessReporter
    from wizard.plain.prompts import Asker
    from wizard.registry import load_steps
    from wizard.session import fail, run_headless
    from wizard.state import StateStore
    from wizard.tui.model import (first_open_step, has_progress, relaunch_command,
                                   reproduce_command, resume_summary)

    try:
        steps = load_steps()
        reporter = HeadlessReporter(steps=steps, state_dir=obj["state_dir"],
                                    verbose=bool(obj.get("verbose")))
        asker = Asker(announce=reporter.announce)
        ids = [s.id for s in steps]
        doc = StateStore(obj["state_dir"]).load()
        if has_progress(doc):
            click.echo(resume_summary(doc, steps))
            choice = asker.choose("What now?", ["Resume", "Reset to a step", "Start over", "Quit"])
            if choice == "Quit":
                return ExitCode.OK
            if choice != "Resume":
                to_step = None
                if choice == "Reset to a step":
                    to_step = asker.choose("Reset to which step?", ids,
                                           default=first_open_step(doc, ids) or ids[0])
                _reset(obj, steps, to_step)
        return run_headless(obj, sandbox=bool(obj.get("sandbox")), region=None, yes=False,
                            answers=None, from_step=None, only=None, skip=None, explain=False,
                            resume_command=reproduce_command(obj, None),
                            prompter=asker, confirm=asker.confirm, reporter=reporter)
    except LabwizError as exc:
        return fail(exc)
    except (KeyboardInterrupt, EOFError):
        # the same lab, the same front-end: the state directory and flags this run was given
        again = relaunch_command(obj) + " --plain"
        click.echo(f"\nStopped. Run '{again}' again to resume.", err=True)
        return ExitCode.INTERRUPTED


def _reset(obj: dict, steps: list, to_step: str | None) -> None:
    """Reset ``to_step`` and later steps (all when None) and say how many."""
    from wizard.engine import Runner
    from wizard.headless import HeadlessReporter

    reset = Runner(obj["state_dir"], steps, reporter=HeadlessReporter()).reset(to_step)
    click.echo(f"Reset {len(reset)} step(s) to pending.")
