"""Doctor and the support bundle, as the TUI runs them: blocking work for a thread worker.

Each function returns a Rich renderable for an :class:`~wizard.tui.dialogs.InfoDialog`; progress
goes through the reporter the app passes (its progress bars and log).
"""

from __future__ import annotations

from pathlib import Path


def doctor_work(state_dir: Path, target, reporter):
    """Run every doctor check against the target, keep the results as ``labwiz doctor`` does,
    and return them as a table (failures and warnings first, each with what to do and the
    documentation on the subject)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from wizard.doctor import run_checks, summarize
    from wizard.doctor.cli import save_results
    from wizard.doctor.runner import REMOVED, SANDBOX_DOWN

    def progress(name, done, total, result):
        """Doctor's progress callback: a bar, and a log line per failure or warning."""
        reporter.progress("doctor checks", done, total)
        if result is not None and result.status in ("fail", "warn"):
            reporter.log(f"doctor: {name}: {result.status}: {result.found}",
                         "error" if result.status == "fail" else "warning")

    results = run_checks(state_dir, target, None, progress=progress)
    save_results(state_dir, results, target.describe())
    order = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}
    table = Table(show_edge=False, expand=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("found / what to do", overflow="fold")
    looks = {"pass": ("✔ pass", "green"), "warn": ("▲ warn", "yellow"), "fail": ("✘ fail", "red"),
             "skip": ("· skip", "dim")}
    # the checks not run because the sandbox is down: one row, not one each
    down = [r.name for r in results if r.found == SANDBOX_DOWN]
    for result in sorted((r for r in results if r.found != SANDBOX_DOWN),
                         key=lambda r: order.get(r.status, 9)):
        word, style = looks.get(result.status, (result.status, ""))
        detail = Text(result.found)
        if result.remediation and result.status in ("fail", "warn"):
            detail.append(f"\nWhat to do: {result.remediation}", "bold")
        if result.doc_url and result.status in ("fail", "warn"):
            # the link text itself, not only a hyperlink: xterm.js and tmux may not make it clickable
            detail.append("\nDocs: ", "dim")
            detail.append(result.doc_url, f"underline link {result.doc_url}")
        table.add_row(result.name, Text(word, style), detail)
    if down:
        table.add_row(f"{len(down)} others", Text("· skip", "dim"),
                      Text(f"Not checked: the sandbox is not running ({', '.join(down)})."))
    counts = summarize(results)
    removed = sum(r.found.startswith(REMOVED) for r in results)
    head = Text(f"{counts['pass']} passed, {counts['warn']} warning(s), {counts['fail']} failed, "
                f"{counts['skip']} skipped"
                + (f" ({removed} of them removed by the lab's cleanup)" if removed else "") + ".",
                "bold red" if counts["fail"] else "bold")
    return Group(head, table)


def bundle_work(state_dir: Path, target, reporter):
    """Write a redacted support bundle in the current directory and say where it is."""
    from rich.text import Text

    from wizard.bundle import write_bundle

    result = write_bundle(state_dir, target, None, redact=True, run_doctor=True,
                          progress=lambda what: reporter.log(f"bundle: {what}", "debug"))
    hidden = sum(r.get("count", 0) for r in result.redactions) if isinstance(result.redactions, list) \
        else 0
    text = Text.assemble(("Support bundle written:\n", "bold"), (str(result.path), "underline"),
                         f"\n\n{len(result.files)} file(s); {hidden} secret value(s) hidden. "
                         "Send this file to whoever helps you; 'labwiz inspect FILE' opens it.")
    for note in result.notes:
        text.append(f"\nNot collected: {note.get('part')}: {note.get('why')}", "dim")
    return text


TOOL_WORK = {"doctor": doctor_work, "bundle": bundle_work}
