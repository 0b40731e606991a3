"""``labwiz doctor``: run the checks, print what each found and what to do; exit 6 on a failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from wizard.errors import ExitCode

#: the doctor's last results, kept in the state directory for 'labwiz bundle' and the TUI
LAST_RESULTS = "doctor.json"

_ICONS = {"pass": "[green]✔ pass[/]", "warn": "[yellow]▲ warn[/]", "fail": "[red]✘ fail[/]",
          "skip": "[dim]· skip[/]"}


def save_results(state_dir: Path, results, target_desc: dict) -> Path | None:
    """Keep the results as ``doctor.json`` (0600) in the state directory; None if it cannot."""
    from wizard.paths import ensure_private_dir, open_private
    from wizard.state import now_iso

    path = Path(state_dir) / LAST_RESULTS
    try:
        ensure_private_dir(path.parent)
        data = json.dumps({"ran_at": now_iso(), "target": target_desc,
                           "results": [r.to_dict() for r in results]}, indent=2).encode()
        tmp = path.with_name(f".{LAST_RESULTS}.{os.getpid()}.tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return path
    except OSError:
        return None


def _print_list(as_json: bool) -> None:
    """Print the catalogue (names, titles, what each checks) or its JSON."""
    from wizard.doctor.runner import list_checks

    checks = list_checks()
    if as_json:
        click.echo(json.dumps(checks, indent=2))
        return
    for item in checks:
        extra = " (slow)" if item["slow"] else ""
        after = f" [after step {item['step']}]" if item["step"] else ""
        click.echo(f"{item['name']:<20} {item['title']}{extra}{after}")
        click.echo(f"{'':<20} {item['summary']}")


def _printer(console, resume_command: str = ""):
    """A progress callback that prints each result as it arrives; a hint naming a labwiz
    command gets the options of this lab (``resume_command``: its state directory, sandbox)."""
    from rich.markup import escape

    from wizard.hints import carry

    from wizard.doctor.runner import SANDBOX_DOWN

    state = {"slow_announced": False, "down": []}

    def progress(name, done, total, result):
        """Print a result as it arrives; announce the slow checks before the first. The checks
        not run because the sandbox is down are named together, once, after the last."""
        from wizard.doctor.model import Catalogue

        if result is not None and result.found == SANDBOX_DOWN:
            state["down"].append(result.name)
        if result is not None and done == total and state["down"]:
            console.print(f"{_ICONS['skip']}  {len(state['down'])} other check(s) not run: the "
                          f"sandbox is not running ({', '.join(state['down'])}).", soft_wrap=True)
        if result is not None and result.found == SANDBOX_DOWN:
            return
        if result is None:
            spec = next((s for s in Catalogue.load().specs if s.name == name), None)
            if spec and spec.slow and not state["slow_announced"] and not state["down"]:
                state["slow_announced"] = True
                console.print("[dim]Slow checks (more API calls), run last:[/]")
            return
        slow = " [dim](slow)[/]" if result.slow else ""
        console.print(f"{_ICONS[result.status]}  [bold]{escape(result.name)}[/]  "
                      f"{escape(result.title)}{slow} [dim]{result.duration_s:.2f} s[/]")
        console.print(f"        {escape(result.found)}", soft_wrap=True)
        if result.status in ("fail", "warn") and result.remediation:
            console.print(f"        What to do: {escape(carry(result.remediation, resume_command))}",
                          soft_wrap=True)
        if result.status in ("fail", "warn") and result.doc_url:
            console.print(f"        Docs: {escape(result.doc_url)}", soft_wrap=True)

    return progress


def _header(target, state_dir: Path) -> str:
    """What the doctor examines: the target's mode, and its region and namespace when known
    (from the target, else from the lab's state); an unknown one is left out, never '?'."""
    from wizard.state import StateStore

    desc = target.describe()
    region, namespace = desc.get("region"), desc.get("namespace")
    if not namespace:
        try:
            doc = StateStore(state_dir).load()
            creds = (doc.get("steps", {}).get("credentials") or {}).get("outputs") or {}
            namespace = creds.get("namespace") or (doc.get("inputs") or {}).get("namespace")
        except Exception:  # noqa: BLE001 - the header must not stop the doctor
            namespace = None
    parts = [f"{desc['mode']} target"] + ([f"region {region}"] if region else []) + \
        ([f"namespace {namespace}"] if namespace else ["namespace not chosen yet"])
    return ", ".join(parts)


@click.command("doctor")
@click.option("--list-checks", "list_only", is_flag=True, help="List the checks and exit.")
@click.option("--check", "names", multiple=True, metavar="NAME",
              help="Run only this check (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable results.")
@click.option("--sandbox", "use_sandbox", is_flag=True,
              help="Examine the offline sandbox (started if needed).")
@click.option("--region", help="AWS region to examine (default: the lab's).")
@click.option("--pipeline", "pipelines", multiple=True, type=click.Path(),
              metavar="PATH", help="A pipeline file, package or directory to scan (repeatable).")
@click.pass_context
def doctor(ctx, list_only, names, as_json, use_sandbox, region, pipelines):
    """Check the lab's environment for known problems; exit 6 when a check fails."""
    if list_only:
        _print_list(as_json)
        return
    from rich.console import Console

    from wizard.doctor.runner import doctor_target, run_checks, summarize

    obj = ctx.obj or {}
    state_dir = Path(obj.get("state_dir") or ".")
    use_sandbox = use_sandbox or obj.get("sandbox", False)
    target = doctor_target(state_dir, sandbox=use_sandbox, region=region)
    console = Console(highlight=False, stderr=as_json)
    if not as_json:
        console.print(f"[bold]labwiz doctor[/]: {_header(target, state_dir)}")
    from wizard.cli import _resume_command

    resume = _resume_command(obj, use_sandbox, None, region) if obj.get("state_dir") else ""
    results = run_checks(state_dir, target, list(names) or None,
                         progress=None if as_json else _printer(console, resume),
                         pipeline_paths=pipelines)
    if not names:
        save_results(state_dir, results, target.describe())
    counts = summarize(results)
    if as_json:
        click.echo(json.dumps({"summary": counts, "results": [r.to_dict() for r in results]},
                              indent=2))
    else:
        from wizard.doctor.runner import REMOVED

        colour = "red" if counts["fail"] else "yellow" if counts["warn"] else "green"
        removed = sum(r.found.startswith(REMOVED) for r in results)
        console.print(f"[{colour}]{counts['pass']} passed, {counts['warn']} warning(s), "
                      f"{counts['fail']} failed, {counts['skip']} skipped"
                      + (f" ({removed} of them removed by the lab's cleanup)" if removed else "")
                      + ".[/]")
    ctx.exit(ExitCode.CHECKS_FAILED if counts["fail"] else ExitCode.OK)
