"""``labwiz sandbox ...``: start, stop, inspect and break the offline sandbox.

A click group the core CLI mounts (``cli.add_command(sandbox)``); it also runs on its own as
``python -m wizard.sandbox.cli``. The state directory comes from the parent's
``ctx.obj["state_dir"]`` when there is one, else ``--state-dir``, ``LABWIZ_STATE_DIR`` or the
platform's user state directory.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

from wizard.errors import ExitCode

from . import faults as faults_mod
from . import manager


def _resolve(explicit: str | None) -> Path:
    """``--state-dir``, else ``LABWIZ_STATE_DIR``, else the platform's user state directory."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("LABWIZ_STATE_DIR"):
        return Path(os.environ["LABWIZ_STATE_DIR"]).expanduser().resolve()
    from platformdirs import user_state_dir

    return Path(user_state_dir("labwiz", appauthor=False))


def _state_dir(ctx: click.Context) -> Path:
    """The state directory the group settled on (see :func:`sandbox`)."""
    return Path(ctx.obj["state_dir"])


def _fail(message: str, code: int = ExitCode.ENVIRONMENT) -> None:
    """Print ``message`` to stderr and exit with ``code`` (labwiz's codes: 5 when the sandbox
    cannot be used, 2 for bad options, 1 when asked to stop)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group("sandbox")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None,
              help="State directory (default: LABWIZ_STATE_DIR or the platform's).")
@click.pass_context
def sandbox(ctx: click.Context, state_dir: str | None) -> None:
    """Start, stop and inspect the offline sandbox (AWS, EKS, Kubeflow Pipelines on loopback)."""
    ctx.ensure_object(dict)
    # our own --state-dir wins; else the parent CLI's choice; else env / platform default
    if state_dir or not ctx.obj.get("state_dir"):
        ctx.obj["state_dir"] = _resolve(state_dir)


def _print_table(st: dict) -> None:
    """Each service, its address and health, as a table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"labwiz sandbox ({st.get('phase')}, pid {st.get('pid')})")
    for column in ("service", "address", "state", "health"):
        table.add_column(column)
    for name, svc in st.get("services", {}).items():
        health = "[green]healthy[/]" if svc["healthy"] else f"[red]{svc.get('detail') or 'no'}[/]"
        table.add_row(name, svc.get("url") or "-", svc.get("state") or "-", health)
    console = Console(soft_wrap=True)
    console.print(table)
    info = st.get("info") or {}
    if info:
        console.print(f"region {info.get('region')}, account {info.get('account_id')}, "
                      f"cluster {info.get('cluster_name')}, bucket {info.get('bucket')}")
        console.print(f"execution role {info.get('execution_role_arn')}")
    ctl = (st.get("services", {}).get("ack") or {}).get("controller") or {}
    if ctl.get("kind") == "real":
        console.print(f"ACK controller: the real one, {ctl.get('binary')} (pid {ctl.get('pid')})")
        console.print(f"its log: {ctl.get('log')}")
    if st.get("faults"):
        console.print(f"faults in force: {', '.join(st['faults'])}")
    console.print('Use it from a shell with: eval "$(labwiz sandbox env)"')


@sandbox.command()
@click.option("--region", default=None,
              help=f"AWS region (default: the region this sandbox last ran in, else "
                   f"{manager.DEFAULT_REGION}).")
@click.option("--fail", "fail_specs", multiple=True, metavar="KIND=VALUE",
              help="Start with this fault (repeatable); see `labwiz sandbox fail --help`.")
@click.option("--aws-port", type=int, default=0, help="Fixed port for AWS (default: free).")
@click.option("--kube-port", type=int, default=0, help="Fixed port for Kubernetes.")
@click.option("--kfp-port", type=int, default=0, help="Fixed port for the KFP API.")
@click.option("--timeout", type=float, default=manager.START_TIMEOUT, show_default=True,
              help="Seconds to wait for every service to be healthy.")
@click.option("--ack", "ack", type=click.Choice(manager.ACK_MODES), default=None,
              help="ACK SageMaker controller: builtin (default; LABWIZ_SANDBOX_ACK overrides) "
                   "or real (the controller `labwiz sandbox build-ack` builds).")
@click.option("--json", "as_json", is_flag=True, help="Print sandbox.json instead of a table.")
@click.pass_context
def up(ctx, region, fail_specs, aws_port, kube_port, kfp_port, timeout, ack, as_json):
    """Start the sandbox in the background (or reuse the running one)."""
    state_dir = _state_dir(ctx)
    try:
        faults = [faults_mod.parse(spec) for spec in fail_specs]
    except faults_mod.FaultSpecError as exc:
        _fail(str(exc), ExitCode.USAGE)
    try:
        info = manager.up(state_dir, region=region, faults=faults, timeout=timeout,
                          ports={"aws": aws_port, "kube": kube_port, "kfp": kfp_port}, ack=ack)
    except manager.SandboxError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps({**manager._read_json(manager.sandbox_dir(state_dir)
                                                     / "sandbox.json"), "reused": info.reused}))
        return
    if info.reused:
        click.echo(f"The sandbox is already running (pid {info.pid}); reusing it.")
    _print_table(manager.status(state_dir))


@sandbox.command()
@click.pass_context
def down(ctx):
    """Stop the sandbox, keeping its data (`up` brings every object back)."""
    was_running = manager.down(_state_dir(ctx))
    click.echo("Sandbox stopped; its data is kept." if was_running else "The sandbox was not running.")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx, as_json):
    """Show each service, its address and health (exit 5 unless all are healthy)."""
    st = manager.status(_state_dir(ctx))
    if as_json:
        click.echo(json.dumps(st, indent=2))
    elif not st["running"]:
        click.echo(f"The sandbox is not running. {' '.join(st['problems'])}")
    else:
        _print_table(st)
        for problem in st["problems"]:
            click.echo(f"problem: {problem}", err=True)
    sys.exit(ExitCode.OK if st.get("healthy") else ExitCode.ENVIRONMENT)


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON object instead of export lines.")
@click.pass_context
def env(ctx, as_json):
    """Print `export` lines for the aws CLI, boto3, kubectl and kfp: eval "$(labwiz sandbox env)"."""
    try:
        values = manager.env(_state_dir(ctx))
    except manager.SandboxError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    for key, value in values.items():
        click.echo(f"export {key}={shlex.quote(value)}")


@sandbox.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def reset(ctx, yes):
    """Stop the sandbox and delete all its data (AWS objects, cluster, runs)."""
    state_dir = _state_dir(ctx)
    if not yes and not click.confirm(f"Delete everything in {manager.sandbox_dir(state_dir)}?"):
        _fail("nothing deleted", ExitCode.STEP_FAILED)
    manager.reset(state_dir)
    click.echo("Sandbox stopped and its data deleted; `labwiz sandbox up` starts afresh.")


@sandbox.command(epilog="Faults:\n\n" + faults_mod.help_text().replace("\n", "\n\n"))
@click.argument("specs", nargs=-1, metavar="[KIND=VALUE]...")
@click.option("--clear", is_flag=True, help="Remove every fault.")
@click.option("--list", "list_", is_flag=True, help="Show the faults in force.")
@click.pass_context
def fail(ctx, specs, clear, list_):
    """Set faults while the sandbox runs (or for its next start)."""
    sdir = manager.sandbox_dir(_state_dir(ctx))
    if clear and specs:
        _fail("give faults to set, or --clear, not both", ExitCode.USAGE)
    current = faults_mod.read(sdir)
    if clear:
        faults_mod.write(sdir, [])
        click.echo("All faults cleared.")
        return
    if specs:
        try:
            new = [faults_mod.parse(spec) for spec in specs]
        except faults_mod.FaultSpecError as exc:
            _fail(str(exc), ExitCode.USAGE)
        kinds = {f.kind for f in new}
        current = [f for f in current if f.kind not in kinds] + new
        faults_mod.write(sdir, current)
    elif not list_:
        _fail("name faults to set (KIND=VALUE), or use --list or --clear.\nValid faults:\n"
              + faults_mod.help_text(), ExitCode.USAGE)
    if current:
        click.echo("Faults in force: " + ", ".join(str(f) for f in current))
    else:
        click.echo("No faults in force.")


@sandbox.command("build-ack")
@click.option("--version", "version", default=None, metavar="vX.Y.Z",
              help="Controller release (default: v1.9.1, the release the lab's CRDs come from).")
@click.option("--force", is_flag=True, help="Build again even when the cache has the binary.")
def build_ack(version, force):
    """Build the real ACK SageMaker controller with `go install` into labwiz's cache.

    `labwiz sandbox up --ack real` then runs it against the sandbox. Needs Go and the Go
    module proxy; a binary already in the cache is reused.
    """
    from . import realack

    version = version or realack.DEFAULT_VERSION
    try:
        result = realack.build(version, progress=lambda line: click.echo(line, err=True),
                               force=force)
    except realack.RealAckError as exc:
        _fail(exc.message + (f"\nWhat to do: {exc.remediation}" if exc.remediation else ""))
    click.echo(f"controller {version}: {result.binary} "
               f"({'reused' if result.reused else f'built in {result.seconds:.0f} s'})")
    if result.crds is not None:
        click.echo(f"CRDs: {result.crds}")
    else:
        click.echo(f"CRDs: none found; set {realack.ENV_CRDS} to the release's "
                   "config/crd/bases before `labwiz sandbox up --ack real`")
    click.echo("Run it against the sandbox with: labwiz sandbox up --ack real")


if __name__ == "__main__":
    sandbox(prog_name="python -m wizard.sandbox.cli")
