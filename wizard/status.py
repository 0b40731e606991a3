"""``labwiz status``: where the lab stands, read without taking the lock."""

from __future__ import annotations

from pathlib import Path

from wizard.lock import StateLock
from wizard.state import StateStore


def lab_status(state_dir: Path) -> dict:
    """A summary of the lab's state: target, steps in order, ledger counts, lock holder."""
    from wizard.registry import load_steps

    store = StateStore(Path(state_dir))
    doc = store.load()
    holder = StateLock(Path(state_dir)).holder() or None
    rows = []
    for step in load_steps():
        rec = doc["steps"].get(step.id, {})
        rows.append({
            "id": step.id,
            "title": step.title,
            "status": shown_status(rec, holder is not None),
            "attempts": rec.get("attempts", 0),
            "duration_s": rec.get("duration_s"),
            "finished_at": rec.get("finished_at"),
            "error": rec.get("error"),
        })
    # the lab's own rows (an intent may exist); reused ones are the learner's, never counted
    own = [r for r in doc.get("ledger", []) if r.get("state", "created") in ("created", "intent")]
    live = [r for r in own if not r.get("deleted_at")]
    return {
        "state_file": str(store.path),
        "exists": store.exists(),
        "lineage": doc["lineage"],
        "serial": doc["serial"],
        "target": doc.get("target", {}),
        "steps": rows,
        "resources": {"live": len(live), "total": len(own)},
        "lock_holder": holder,
    }


def shown_status(rec: dict, running_now: bool) -> str:
    """A step's status as people should see it: ``interrupted`` for a step whose process died
    (left ``running`` with nobody holding the lab's lock, or recorded as stopped by Ctrl-C or a
    crash), not ``running`` or a plain ``failed``. Front-ends show this word too."""
    status = rec.get("status", "pending")
    if status == "running" and not running_now:
        return "interrupted"
    if status == "failed" and (rec.get("error") or {}).get("type") == "Interrupted":
        return "interrupted"
    return status


_ICONS = {"done": "[green]✔ done[/]", "failed": "[red]✘ failed[/]", "running": "[yellow]● running[/]",
          "skipped": "[dim]↷ skipped[/]", "pending": "[dim]· pending[/]",
          "interrupted": "[yellow]⏸ interrupted[/]"}


def print_status(report: dict) -> None:
    """Print the status as a table."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    if not report["exists"]:
        console.print(f"No lab started yet in {escape(report['state_file'])}. "
                      "Run 'labwiz run --sandbox' to start offline.")
    target = report.get("target") or {}
    if target:
        console.print(f"Target: {target.get('mode', '?')}  region {target.get('region') or '?'}  "
                      f"namespace {target.get('namespace') or '?'}")
    table = Table(show_edge=False)
    for column in ("#", "step", "state", "tries", "time"):
        table.add_column(column)
    for number, row in enumerate(report["steps"], 1):
        duration = f"{row['duration_s']:.1f} s" if row.get("duration_s") is not None else ""
        table.add_row(str(number), row["id"], _ICONS.get(row["status"], row["status"]),
                      str(row["attempts"] or ""), duration)
    console.print(table)
    for row in report["steps"]:
        if row["status"] == "interrupted" and not row.get("error"):
            console.print(f"[yellow]{row['id']}:[/] labwiz stopped while it ran; the next "
                          "'labwiz run' resumes it (finished work is reused).")
        if row["status"] in ("failed", "interrupted") and row.get("error"):
            console.print(f"[red]{row['id']}:[/] {escape(row['error'].get('message', ''))}")
            if row["error"].get("remediation"):
                console.print(f"  What to do: {escape(row['error']['remediation'])}")
    console.print(f"Resources created: {report['resources']['live']} live "
                  f"({report['resources']['total']} recorded). State serial {report['serial']}, "
                  f"lineage {report['lineage'][:8]}.")
    if report.get("lock_holder"):
        holder = report["lock_holder"]
        console.print(f"[yellow]In use by pid {holder.get('pid')} on {holder.get('host')} "
                      f"since {holder.get('started_at')}.[/]")
