"""The ``labwiz`` command line.

``labwiz`` alone opens the TUI on a terminal (plain prompts or help otherwise); ``labwiz run`` is the
headless runner. Subcommands that pull in heavy libraries (sandbox, generate, doctor, bundle,
inspect, demo) are imported only when invoked, so ``labwiz --version`` and ``labwiz status`` start
fast. Errors that labwiz explains exit with the codes in :class:`wizard.errors.ExitCode`.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

from wizard import __version__
from wizard.errors import ExitCode, LabwizError
from wizard.paths import check_state_dir, resolve_state_dir

#: subcommands that live in other modules, loaded on first use
LAZY_COMMANDS = {
    "sandbox": ("wizard.sandbox.cli", "sandbox", "Start, stop and inspect the offline sandbox."),
    "generate": ("wizard.generator.cli", "generate", "Generate KFP components from ACK CRDs."),
    "doctor": ("wizard.doctor.cli", "doctor", "Check the lab's environment for known problems."),
    "bundle": ("wizard.bundle.cli", "bundle", "Write a redacted support bundle."),
    "inspect": ("wizard.bundle.cli", "inspect_cmd", "Open a support bundle read-only."),
    "demo": ("wizard.demo", "demo", "Run the lab in the TUI with pauses, for live demos."),
    "terminate": ("wizard.kfp_ops.terminate", "terminate_cmd", "Stop the lab's run and its SageMaker jobs."),
}


class LazyGroup(click.Group):
    """A click group whose listed subcommands are imported when first used."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None or name not in LAZY_COMMANDS:
            return command
        module, attr, _ = LAZY_COMMANDS[name]
        import importlib

        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # only the command's own module being absent means "not in this version"; any
            # other failing import is a broken install and surfaces as the error it is
            if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
                raise
            return _unavailable(name)
        command = getattr(loaded, attr, None)
        return command if command is not None else _unavailable(name)

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS:
                rows.append((name, LAZY_COMMANDS[name][2]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=70)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _unavailable(name: str) -> click.Command:
    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def command():
        raise LabwizError(f"'labwiz {name}' is not available in this version of labwiz.",
                          remediation="See 'labwiz --help' for the commands it has.",
                          exit_code=ExitCode.USAGE)
    return command


def _state_dir(ctx: click.Context) -> Path:
    return ctx.obj["state_dir"]


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--state-dir", type=click.Path(file_okay=False), envvar="LABWIZ_STATE_DIR",
              help="Where the lab's state lives (default: the platform's state directory).")
@click.option("--sandbox", "use_sandbox", is_flag=True, help="Work against the offline sandbox.")
@click.option("--plain", is_flag=True, help="Plain prompts instead of the TUI.")
@click.option("--answers", type=click.Path(dir_okay=False), envvar="LABWIZ_ANSWERS",
              help="Without a terminal: run headless, answering prompts from this YAML/JSON file.")
@click.option("-y", "--yes", is_flag=True,
              help="Without a terminal: run headless, accepting defaults and confirmations.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details to stderr too.")
@click.version_option(__version__, "--version", prog_name="labwiz")
@click.pass_context
def cli(ctx: click.Context, state_dir, use_sandbox, plain, answers, yes, verbose):
    """labwiz: the Kubeflow Pipelines with Amazon SageMaker Components lab, step by step.

    Run 'labwiz run --sandbox --yes' to do the whole lab offline, or 'labwiz' for the TUI.
    """
    ctx.ensure_object(dict)
    given = ctx.get_parameter_source("state_dir") == click.core.ParameterSource.COMMANDLINE
    if state_dir:  # given (flag or LABWIZ_STATE_DIR): it must be new, empty, or a lab's
        check_state_dir(resolve_state_dir(state_dir))
    ctx.obj.update(state_dir=resolve_state_dir(state_dir), state_dir_given=given,
                   sandbox=use_sandbox, plain=plain, verbose=verbose, answers=answers,
                   yes=yes)
    if ctx.invoked_subcommand is None:
        from wizard.frontend import launch

        launch(ctx, headless=lambda: _run_headless(ctx, use_sandbox, None, yes, answers))
    elif use_sandbox and ctx.invoked_subcommand in ("status", "steps", "reset"):
        # these never talk to a service, but '--sandbox on any command' starts it, so that
        # the next command (or a learner's kubectl) finds it running
        from wizard.sandbox import manager

        info = manager.ensure_running(ctx.obj["state_dir"])
        click.echo(f"Sandbox {'running' if info.reused else 'started'} in {info.region} "
                   f"(labwiz sandbox status).", err=True)


@cli.command()
@click.option("--sandbox", "use_sandbox", is_flag=True, help="Start (or reuse) the offline sandbox.")
@click.option("--region", help="AWS region (default: AWS_REGION, or the sandbox's).")
@click.option("-y", "--yes", is_flag=True, help="Accept defaults and confirmations; never prompt.")
@click.option("--answers", type=click.Path(dir_okay=False), help="YAML/JSON file answering every prompt.")
@click.option("--from", "from_step", metavar="STEP", help="Start at STEP (re-running it and later steps).")
@click.option("--only", metavar="STEP[,STEP]", help="Run only these steps.")
@click.option("--skip", metavar="STEP[,STEP]", help="Skip these steps.")
@click.option("--explain", is_flag=True, help="Print each step's equivalent commands; change nothing.")
@click.pass_context
def run(ctx, use_sandbox, region, yes, answers, from_step, only, skip, explain):
    """Run the lab from its last good step (headless, with progress)."""
    ctx.exit(_run_headless(ctx, use_sandbox or ctx.obj["sandbox"], region,
                           yes or ctx.obj["yes"], answers or ctx.obj["answers"],
                           from_step=from_step, only=only, skip=skip, explain=explain))


#: the resume command of the run under way, printed when Ctrl-C ends it
_RESUME: dict[str, str] = {}


def _run_headless(ctx: click.Context, use_sandbox: bool, region: str | None, yes: bool,
                  answers: str | None, **options) -> int:
    """The headless runner (``labwiz run``, or a bare ``labwiz`` with no terminal)."""
    from wizard.session import run_headless

    resume = _resume_command(ctx.obj, use_sandbox, answers, region, yes=yes,
                             only=options.get("only"), skip=options.get("skip"))
    _RESUME["command"] = resume
    return run_headless(ctx.obj, sandbox=use_sandbox, region=region, yes=yes, answers=answers,
                        resume_command=resume, **options)


def _resume_command(obj: dict, use_sandbox: bool, answers: str | None, region: str | None, *,
                    yes: bool = False, only: str | None = None, skip: str | None = None) -> str:
    """The command that resumes this run with the same choices: state directory, sandbox,
    region (given, or from AWS_REGION), answers, --yes, --only and --skip. ``--from`` is left
    out: resuming must not reset the steps it names again."""
    import os

    from wizard.paths import default_state_dir

    parts = ["labwiz"]
    if obj.get("state_dir_given") or obj["state_dir"] != default_state_dir():
        parts += ["--state-dir", str(obj["state_dir"])]
    parts.append("run")
    if use_sandbox:
        parts.append("--sandbox")
    if not region and not use_sandbox:  # the sandbox has its own region; AWS takes the env's
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        parts += ["--region", region]
    if answers:
        parts += ["--answers", str(answers)]
    if yes:
        parts.append("--yes")
    if only:
        parts += ["--only", only if isinstance(only, str) else ",".join(only)]
    if skip:
        parts += ["--skip", skip if isinstance(skip, str) else ",".join(skip)]
    return " ".join(shlex.quote(p) for p in parts)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx, as_json):
    """Where the lab stands: each step's state, attempts and duration."""
    from wizard.status import lab_status, print_status

    report = lab_status(_state_dir(ctx))
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        print_status(report)


@cli.command()
def steps():
    """List the lab's steps in order, with what each does."""
    from wizard.registry import load_steps

    for number, step in enumerate(load_steps(), 1):
        click.echo(f"{number}. {step.id:<22} {getattr(step, 'summary', step.title)}")


@cli.command()
@click.option("--to", "to_step", metavar="STEP", help="Reset STEP and every later step.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def reset(ctx, to_step, yes):
    """Make steps pending again (the resource ledger and your inputs are kept)."""
    from wizard.engine import Runner
    from wizard.headless import HeadlessReporter
    from wizard.registry import load_steps

    what = f"'{to_step}' and every later step" if to_step else "every step"
    if not yes and sys.stdin.isatty():
        click.confirm(f"Reset {what} to pending?", abort=True)
    runner = Runner(_state_dir(ctx), load_steps(), reporter=HeadlessReporter())
    reset_ids = runner.reset(to_step)
    click.echo(f"Reset {len(reset_ids)} step(s): {', '.join(reset_ids) or 'none had run'}.")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn explained errors into messages and exit codes."""
    # every file and directory labwiz (and the sandbox it starts) writes is private: 0600 / 0700
    os.umask(0o077)
    try:
        result = cli.main(args=argv, prog_name="labwiz", standalone_mode=False)
        # with standalone_mode off, click hands back ctx.exit()'s code as the return value
        return result if isinstance(result, int) else ExitCode.OK
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        # click turns Ctrl-C (KeyboardInterrupt) into Abort; a declined confirmation is one too
        resume = _RESUME.get("command")
        click.echo("Interrupted. " + (f"To resume: {resume}" if resume else "Aborted."), err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE
    except LabwizError as exc:
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        resume = _RESUME.get("command")
        click.echo("\nInterrupted. " + (f"To resume: {resume}" if resume else
                                         "Run the same command again to resume."), err=True)
        return ExitCode.INTERRUPTED


def _print_error(exc: LabwizError) -> None:
    from wizard.secrets import redact

    from wizard.hints import carry

    click.secho(f"Error: {redact(exc.message)}", fg="red", err=True)
    if exc.remediation:
        # a labwiz command in the hint names this lab: --state-dir and the run's flags
        click.echo(f"What to do: {redact(carry(exc.remediation, _RESUME.get('command', '')))}",
                   err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
