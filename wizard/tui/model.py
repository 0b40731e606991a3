"""What the TUI shows, computed from the state document and the steps, without any terminal.

Kept free of Textual so it can be tested and reused (the plain front-end's resume summary uses it
too), and so the widgets only lay things out.
"""

from __future__ import annotations

import shlex
from pathlib import Path

#: how each step status is drawn in the sidebar: (glyph, label, Rich style)
STATUS_LOOK = {
    "pending": ("·", "pending", "dim"),
    "running": ("●", "running", "bold yellow"),
    "done": ("✔", "done", "green"),
    "failed": ("✘", "failed", "bold red"),
    "skipped": ("↷", "skipped", "dim"),
    "interrupted": ("◌", "interrupted", "bold yellow"),
    "declined": ("↷", "declined", "yellow"),
}


def shown_status(rec: dict, busy: str | None = None, step_id: str | None = None) -> str:
    """The status to show for a step record: a step the state says is ``running`` while no
    runner of ours runs it belonged to a process that died, so it is ``interrupted`` (nothing
    pretends to run); a failure recorded as an interruption reads the same way."""
    status = rec.get("status", "pending")
    if status == "running" and (busy is None or busy != step_id):
        return "interrupted"
    if status == "failed" and (rec.get("error") or {}).get("type") == "Interrupted":
        return "interrupted"
    if status == "skipped" and rec.get("declined"):
        return "declined"
    return status


def step_record(doc: dict, step_id: str) -> dict:
    """The state record of one step (a pending record when it never ran)."""
    return doc.get("steps", {}).get(step_id) or {"status": "pending", "attempts": 0}


def format_duration(seconds: float | None) -> str:
    """``3.2 s``, ``4 m 05 s`` or ``''`` when unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} m {secs:02d} s"


def target_line(doc: dict, target_info: dict | None, connecting: str = "") -> str:
    """The header's one line about where the lab runs.

    The sandbox shows its region, cluster and namespace; real AWS also shows the account found by
    the credentials step (the wizard never guesses an account before it has been checked).
    """
    info = dict(doc.get("target") or {})
    info.update({k: v for k, v in (target_info or {}).items() if v})
    inputs = doc.get("inputs", {})
    creds = step_record(doc, "credentials").get("outputs") or {}
    if connecting:
        return connecting
    if not info:
        return "target not chosen yet"
    # what is not known yet is left out rather than shown as "?"
    region = info.get("region") or inputs.get("region") or creds.get("region")
    cluster = info.get("cluster") or inputs.get("cluster_name") or creds.get("cluster_name")
    namespace = info.get("namespace") or inputs.get("namespace") or creds.get("namespace")
    known = [p for p in (region, cluster, namespace) if p]
    if info.get("mode") == "sandbox":
        return " · ".join(["sandbox", *known])
    account = creds.get("account_id")
    if not account and not known:
        return "AWS · account not checked yet"
    return " · ".join([f"AWS {account}" if account else "AWS", *known])


def first_open_step(doc: dict, step_ids: list[str]) -> str | None:
    """The first step that is neither done nor skipped: where a resumed lab carries on."""
    for step_id in step_ids:
        if step_record(doc, step_id).get("status") not in ("done", "skipped"):
            return step_id
    return None


def blocking_step(doc: dict, step_ids: list[str], step_id: str) -> str | None:
    """The earliest step before ``step_id`` that is not done or skipped (None when it may run)."""
    for earlier in step_ids[: step_ids.index(step_id)]:
        if step_record(doc, earlier).get("status") not in ("done", "skipped"):
            return earlier
    return None


def has_progress(doc: dict) -> bool:
    """Whether any step has left ``pending``: only then is there something to resume."""
    return any(rec.get("status", "pending") != "pending" for rec in doc.get("steps", {}).values())


def resume_summary(doc: dict, steps: list) -> str:
    """A few sentences on where the lab stands, for the resume dialog."""
    ids = [s.id for s in steps]
    titles = {s.id: s.title for s in steps}
    done = [i for i in ids if step_record(doc, i).get("status") == "done"]
    skipped = [i for i in ids if step_record(doc, i).get("status") == "skipped"]
    lines = [f"{len(done)} of {len(ids)} steps are done"
             + (f", {len(skipped)} skipped." if skipped else ".")]
    for step_id in ids:
        rec = step_record(doc, step_id)
        status = shown_status(rec)
        if status == "interrupted":
            lines.append(f"'{titles[step_id]}' was interrupted: labwiz stopped while it ran. "
                         "Resume runs it again; the work it finished is reused.")
            break
        if status == "failed":
            error = rec.get("error") or {}
            lines.append(f"'{titles[step_id]}' failed: {error.get('message') or 'no reason kept'}")
            break
    nxt = first_open_step(doc, ids)
    lines.append(f"Next: {titles[nxt]}." if nxt else "Every step is done.")
    live = [r for r in doc.get("ledger", []) if not r.get("deleted_at")]
    if live:
        lines.append(f"{len(live)} resource(s) created so far are recorded for cleanup.")
    return "\n".join(lines)


def reproduce_command(obj: dict, step_id: str | None) -> str:
    """The headless command that repeats what the TUI did, for error dialogs."""
    parts = ["labwiz"]
    if obj.get("state_dir_given"):
        parts += ["--state-dir", str(obj["state_dir"])]
    parts.append("run")
    if obj.get("sandbox"):
        parts.append("--sandbox")
    if step_id:
        parts += ["--only", step_id]
    return " ".join(shlex.quote(p) for p in parts)


def relaunch_command(obj: dict, autopilot: dict | None = None) -> str:
    """The command that opens this front-end again on the same lab: ``labwiz [--sandbox]``, or
    ``labwiz demo`` for the autopilot (which carries on from the first step not done)."""
    parts = ["labwiz"]
    if obj.get("state_dir_given"):
        parts += ["--state-dir", str(obj["state_dir"])]
    if autopilot is not None:
        parts.append("demo")
    elif obj.get("sandbox"):
        parts.append("--sandbox")
    return " ".join(shlex.quote(p) for p in parts)


def commands_paths(state_dir: Path, step_id: str) -> tuple[Path, Path]:
    """Where a step's planned commands are saved by the TUI, and where the engine logs those run."""
    base = Path(state_dir) / "commands"
    return base / f"{step_id}.plan.sh", base / f"{step_id}.sh"


def input_display(value) -> str:
    """A saved or default input value as the text a form field shows."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def write_copied(state_dir: Path, step_id: str, text: str) -> Path:
    """Write the commands the copy key put on the clipboard to ``<state>/commands/<step>.copy.sh``
    (0600, in the private state directory) and return its path."""
    import os

    from wizard.paths import ensure_private_dir, open_private

    plan, _ = commands_paths(state_dir, step_id)
    ensure_private_dir(plan.parent)
    path = plan.parent / f"{step_id}.copy.sh"
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"# {step_id}: the commands copied from labwiz\n{text}")
    return path


def lesson_preview(markdown: str, limit: int = 1500) -> str:
    """The start of a lesson as plain text, for the first frame, before the Markdown view that
    replaces it a moment later is built: paragraphs and bullets joined back into lines (the
    source wraps at 100 columns), emphasis and code marks dropped, ``*`` bullets drawn as ``•``,
    and at most about ``limit`` characters (whole paragraphs, and at least the first), which is
    more than the pane shows before it scrolls."""
    import re

    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        # a list's items start lines with "* " or "- "; other line breaks are the source's wrapping
        items = re.split(r"\n(?=\s*[*-] )", block)
        lines = [" ".join(part.strip() for part in item.splitlines()) for item in items]
        lines = [re.sub(r"^[*-] ", "• ", line) for line in lines]
        lines = [re.sub(r"^#+ ", "", line) for line in lines]
        text = "\n".join(lines)
        text = re.sub(r"(\*\*|__|`)", "", text)
        text = re.sub(r"(?<![\w*])\*(\S[^*]*?)\*(?!\w)", r"\1", text)  # *emphasis*
        if blocks and sum(map(len, blocks)) + len(text) > limit:
            break
        blocks.append(text)
    return "\n\n".join(blocks)
