"""One headless run of the lab: target, runner, reporter, and the words at the end.

Shared by ``labwiz run`` and the plain-prompt front-end, which differ only in whether the runner
may ask the user (a prompter and a confirm function) or must take everything from answers.
"""

from __future__ import annotations

import sys
from typing import Callable

from wizard.errors import ExitCode, LabwizError
from wizard.logsetup import setup_logging


def run_headless(obj: dict, *, sandbox: bool, region: str | None, yes: bool, answers: str | None,
                 resume_command: str, from_step: str | None = None, only: str | None = None,
                 skip: str | None = None, explain: bool = False, prompter: Callable | None = None,
                 confirm: Callable[[str], bool] | None = None, reporter=None) -> int:
    """Run (or explain) the lab without a TUI; return the exit code."""
    from wizard.engine import Runner, explain as explain_steps
    from wizard.headless import HeadlessReporter
    from wizard.inputs import load_answers
    from wizard.registry import load_steps
    from wizard.target import aws_target, resolve_target

    state_dir = obj["state_dir"]
    answer_map = load_answers(answers) if answers else {}
    steps = load_steps()
    reporter = reporter or HeadlessReporter(steps=steps, state_dir=state_dir,
                                            verbose=bool(obj.get("verbose")))
    if explain:
        target = aws_target(region)
        if sandbox:
            target.mode = "sandbox"
        for step, commands in explain_steps(steps, state_dir, target, answer_map,
                                            from_step=from_step, only=only, skip=skip):
            reporter.log(f"# {step.id}: {getattr(step, 'summary', step.title)}", "success")
            for command in commands:
                if command.note:  # the note says when a command applies; --explain is for reading
                    reporter.log(f"  # {command.note}", "debug")
                reporter.command(command)
            if not commands:
                reporter.log("  (no AWS, kubectl or kfp command: this step works locally)", "debug")
        return ExitCode.OK

    log_path = setup_logging(state_dir, obj.get("verbose", False))
    target = resolve_target(state_dir, sandbox=sandbox, region=region)
    interactive = prompter is not None and not yes
    if not interactive and hasattr(reporter, "unattended"):
        reporter.unattended = True
    runner = Runner(state_dir, steps, target=target, reporter=reporter, answers=answer_map,
                    prompter=prompter if interactive else None, confirm=confirm,
                    assume_yes=yes, resume_command=resume_command,
                    on_state=getattr(reporter, "state_saved", None))
    try:
        outcome = runner.run(from_step=from_step, only=only, skip=skip)
    finally:
        if hasattr(reporter, "close"):
            reporter.close()
    if outcome.ok and outcome.complete:
        return ExitCode.OK
    if hasattr(reporter, "summary"):  # each step's result and time, where things are
        reporter.summary(runner.doc, ran=outcome.ran, log_path=log_path)
    if outcome.ok:
        declined = [s for s, r in runner.doc["steps"].items() if r.get("declined")
                    and r.get("status") == "skipped"]
        if declined:
            reporter.log(f"Done, except what you declined: {', '.join(declined)} "
                         f"({len(outcome.ran)} step(s) ran this time).", "success")
        else:
            reporter.log(f"All steps done ({len(outcome.ran)} ran this time).", "success")
        return ExitCode.OK
    error = outcome.error or {}
    reporter.log(f"Step '{outcome.failed_step}' failed: {error.get('message', '')}", "error")
    if error.get("remediation"):
        reporter.log(f"What to do: {error['remediation']}", "warning")
    reporter.log(f"To resume: {outcome.resume_command}", "warning")
    if error.get("exit_code") == ExitCode.ENVIRONMENT:
        return ExitCode.ENVIRONMENT  # AWS, the cluster or KFP could not be reached (README)
    return ExitCode.STEP_FAILED


def fail(exc: LabwizError) -> int:
    """Print an explained error on stderr and return its exit code."""
    print(f"Error: {exc.message}", file=sys.stderr)
    if exc.remediation:
        print(f"What to do: {exc.remediation}", file=sys.stderr)
    return exc.exit_code
