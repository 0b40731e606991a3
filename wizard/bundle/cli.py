"""``labwiz bundle`` (write a redacted support bundle) and ``labwiz inspect`` (open one)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("bundle")
@click.option("--out", type=click.Path(), metavar="DIR|FILE",
              help="Where to write the archive (default: the current directory).")
@click.option("--sandbox", "use_sandbox", is_flag=True,
              help="Collect from the offline sandbox (started if needed).")
@click.option("--no-redact", is_flag=True,
              help="Keep secrets in the bundle (only for your own eyes; never send it).")
@click.option("--no-doctor", is_flag=True, help="Do not run the doctor's checks.")
@click.pass_context
def bundle(ctx, out, use_sandbox, no_redact, no_doctor):
    """Write one .tar.gz with the state, logs, doctor results and the lab's resources."""
    from rich.console import Console
    from rich.markup import escape

    from wizard.bundle.archive import write_bundle
    from wizard.doctor.runner import doctor_target

    obj = ctx.obj or {}
    state_dir = Path(obj.get("state_dir") or ".")
    console = Console(highlight=False, stderr=True)
    target = doctor_target(state_dir, sandbox=True) if (use_sandbox or obj.get("sandbox")) \
        else None
    if no_redact:
        console.print("[red]Redaction is OFF: this bundle will hold secrets. Do not share it.[/]")
    result = write_bundle(state_dir, target, out, redact=not no_redact,
                          run_doctor=not no_doctor,
                          progress=lambda msg: console.print(f"[dim]… {escape(msg)}[/]"))
    hidden = sum(r["count"] for r in result.redactions)
    console.print(f"Redaction report: {hidden} value(s) hidden.")
    for row in result.redactions:
        console.print(f"  {row['count']} × {escape(row['kind'])} in {escape(row['file'])}")
    for note in result.notes:
        console.print(f"[yellow]Not collected[/] {escape(note['part'])}: {escape(note['why'])}")
    console.print(f"{len(result.files)} files; open it with 'labwiz inspect {result.path}'.")
    click.echo(str(result.path))  # stdout: the path alone, for scripts


@click.command("inspect")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path())
@click.option("--plain", is_flag=True, help="Print the summary even on a terminal.")
@click.option("--events", default=40, show_default=True, help="How many recent events to show.")
def inspect_cmd(bundle_path, plain, events):
    """Open a support bundle read-only: where the lab stood, its events, the doctor's results."""
    from wizard.bundle.view import print_summary, read_bundle

    view = read_bundle(bundle_path)
    if not plain and sys.stdin.isatty() and sys.stdout.isatty():
        opener = _tui_inspect()
        if opener is not None:
            opener(view)
            return
    print_summary(view, events=events)


def _tui_inspect():
    """The TUI's inspect view (``wizard.tui.inspect.run_inspect(view)``), if it provides one."""
    from wizard.tui.inspect import run_inspect  # labwiz's own: a failing import is a broken install

    return run_inspect
