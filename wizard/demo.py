"""``labwiz demo``: the instructors' autopilot.

Starts (or reuses) the offline sandbox and runs the lab in the TUI one step at a time, pausing
between steps so the audience can read the lesson, the commands and the monitoring views. Space
pauses and resumes the countdown, ``n`` runs the next step at once, ``q`` quits. ``--from STEP``
starts at any step: it is reset first so that it really runs, and the steps before it that are not
done yet (all of them on a fresh lab) run first without pauses. Confirmations are answered yes and
inputs take their defaults, as with ``--yes``.
"""

from __future__ import annotations

import click

from wizard.errors import InputError


@click.command("demo")
@click.option("--pause", type=click.FloatRange(0, 600), default=4.0, show_default=True,
              help="Seconds to wait between steps.")
@click.option("--from", "from_step", metavar="STEP",
              help="Start at STEP instead of where the lab stands (earlier steps not done yet run "
              "first, without pauses).")
@click.pass_context
def demo(ctx: click.Context, pause: float, from_step: str | None) -> None:
    """Run the lab in the TUI against the sandbox, step by step with pauses (for live demos)."""
    from wizard.frontend import usable_terminal

    obj = dict(ctx.obj or {})
    if from_step:
        from wizard.registry import step_ids

        ids = step_ids()
        if from_step not in ids:
            raise InputError(f"'{from_step}' is not a step.",
                             remediation="Steps are: " + ", ".join(ids) + ". See 'labwiz steps'.")
    if not usable_terminal():
        raise InputError("'labwiz demo' needs an interactive terminal (the TUI draws on it).",
                         remediation="Run it in a terminal window, or use 'labwiz run --sandbox --yes' "
                         "for an unattended run.")
    obj["sandbox"] = True
    from wizard.tui.app import run_app

    ctx.exit(run_app(obj, autopilot={"pause": pause, "from_step": from_step}))
