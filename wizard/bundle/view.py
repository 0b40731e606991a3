"""Open a support bundle read-only (:func:`read_bundle`) and print its summary.

Nothing is extracted to disk: members are read into memory, and only regular files under the
bundle's top directory are considered, so a crafted archive cannot write anywhere.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from wizard.errors import ExitCode, LabwizError

#: a bundle member larger than this is not read (bundles keep log tails, not whole logs)
MAX_MEMBER = 50_000_000


class NotABundle(LabwizError):
    """The file given is not a labwiz support bundle."""

    exit_code = ExitCode.USAGE


@dataclass
class BundleView:
    """A bundle's contents, parsed: what ``labwiz inspect`` and the TUI's inspect view show."""

    path: Path
    manifest: dict
    state: dict = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    doctor: list[dict] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    redactions: dict = field(default_factory=dict)
    members: dict[str, bytes] = field(default_factory=dict, repr=False)

    def files(self) -> list[str]:
        """Every file in the bundle, by its name inside it."""
        return sorted(self.members)

    def text(self, name: str) -> str:
        """One file's text (KeyError when the bundle has no such file)."""
        return self.members[name].decode("utf-8", "replace")

    def json(self, name: str):
        """One JSON file, parsed."""
        return json.loads(self.members[name])


def read_bundle(path) -> BundleView:
    """Read a bundle written by ``labwiz bundle``; :class:`NotABundle` for anything else."""
    path = Path(path)
    what_to_do = "Give the .tar.gz file that 'labwiz bundle' printed."
    if not path.is_file():
        raise NotABundle(f"{path} does not exist or is not a file.", remediation=what_to_do)
    try:
        tar = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError):
        raise NotABundle(f"{path} is not a labwiz bundle: it is not a (gzipped) tar archive.",
                         remediation=what_to_do) from None
    members: dict[str, bytes] = {}
    with tar:
        try:
            for member in tar:
                if not member.isfile() or member.size > MAX_MEMBER:
                    continue
                root, _, name = member.name.partition("/")
                if not name or name.startswith("/") or ".." in Path(name).parts:
                    continue
                members[name] = tar.extractfile(member).read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise NotABundle(f"{path} is damaged: {exc}.", remediation=what_to_do) from None
    try:
        manifest = json.loads(members["manifest.json"])
    except (KeyError, ValueError):
        raise NotABundle(f"{path} is a tar archive but not a labwiz bundle (no manifest.json).",
                         remediation=what_to_do) from None
    from wizard.bundle.archive import BUNDLE_FORMAT, FORMAT_VERSION

    if manifest.get("format") != BUNDLE_FORMAT:
        raise NotABundle(f"{path} is not a labwiz bundle (format {manifest.get('format')!r}).",
                         remediation=what_to_do)
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise NotABundle(f"{path} was written by a newer labwiz ({manifest.get('labwiz_version')})"
                         f" in bundle format {manifest.get('format_version')}.",
                         remediation="Upgrade labwiz to read it (pip install -U labwiz).")
    view = BundleView(path, manifest, members=members)

    def load(name, default):
        """A JSON member of the bundle, or ``default``."""
        try:
            return json.loads(members[name])
        except (KeyError, ValueError):
            return default

    view.state = load("state.json", {})
    view.doctor = load("doctor.json", {}).get("results") or \
        load("doctor-last.json", {}).get("results") or []
    view.versions = load("versions.json", {})
    view.redactions = load("redactions.json", {})
    for line in members.get("events.jsonl", b"").decode("utf-8", "replace").splitlines():
        try:
            view.events.append(json.loads(line))
        except ValueError:
            continue
    return view


_ICONS = {"pass": "[green]✔ pass[/]", "warn": "[yellow]▲ warn[/]", "fail": "[red]✘ fail[/]",
          "skip": "[dim]· skip[/]", "done": "[green]✔ done[/]", "failed": "[red]✘ failed[/]",
          "running": "[yellow]● running[/]", "pending": "[dim]· pending[/]",
          "skipped": "[dim]↷ skipped[/]"}


def _step_order(state: dict) -> list[str]:
    """The lab's step ids in order (those the state names first if the registry is unknown)."""
    try:
        from wizard.registry import step_ids

        ids = step_ids()
    except Exception:  # noqa: BLE001 - a bundle from another lab still shows its own steps
        ids = []
    return ids + [s for s in (state.get("steps") or {}) if s not in ids]


def print_summary(view: BundleView, console=None, events: int = 40) -> None:
    """Where the lab stands, the timeline of events and the doctor's results (for each failed
    or warned check, what to do and its documentation link)."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console(highlight=False)
    m = view.manifest
    target = m.get("target") or {}
    console.print(f"[bold]Support bundle[/] {escape(str(view.path))}")
    console.print(f"Written {m.get('created_at')} by labwiz {m.get('labwiz_version')}; target "
                  f"{target.get('mode', '?')}, region {target.get('region') or '?'}, namespace "
                  f"{target.get('namespace') or '?'}; redaction "
                  f"{'on' if m.get('redacted') else '[red]OFF[/]'}.")
    versions = view.versions
    if versions:
        term = versions.get("terminal") or {}
        console.print(f"Python {versions.get('python')}, kfp "
                      f"{(versions.get('packages') or {}).get('kfp')}, TERM {term.get('TERM')} "
                      f"{term.get('columns')}x{term.get('lines')}.")
    console.print("\n[bold]Where the lab stands[/]")
    steps = view.state.get("steps") or {}
    if not steps:
        console.print("  No step has run.")
    for step_id in _step_order(view.state):
        rec = steps.get(step_id) or {}
        status = rec.get("status", "pending")
        console.print(f"  {_ICONS.get(status, status)}  {escape(step_id)}"
                      + (f"  [dim]{rec.get('attempts')} attempt(s)[/]" if rec.get("attempts")
                         else ""))
        error = rec.get("error") or {}
        if status == "failed" and error:
            console.print(f"        {escape(str(error.get('message', '')))}")
    live = [r for r in view.state.get("ledger") or [] if not r.get("deleted_at")]
    console.print(f"  Resources on record: {len(live)} live.")
    console.print(f"\n[bold]Timeline[/] ({len(view.events)} events"
                  + (f", last {events} shown" if len(view.events) > events else "") + ")")
    for event in view.events[-events:]:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(event.items())
                           if k not in ("ts", "event", "serial") and v not in (None, "", {}))
        console.print(f"  [dim]{escape(str(event.get('ts', '')))}[/] "
                      f"{escape(str(event.get('event', '?')))}  {escape(detail[:160])}")
    console.print("\n[bold]Doctor[/]")
    if not view.doctor:
        console.print("  The bundle has no doctor results.")
    for result in view.doctor:
        console.print(f"  {_ICONS.get(result.get('status'), result.get('status'))}  "
                      f"[bold]{escape(str(result.get('name')))}[/]  "
                      f"{escape(str(result.get('found', '')))[:200]}")
        if result.get("status") in ("fail", "warn"):
            # soft_wrap: a summary is often piped or pasted into a ticket; a URL or command
            # broken over two lines by the console's width would not work when copied
            if result.get("remediation"):
                console.print(f"        What to do: {escape(result['remediation'])}",
                              soft_wrap=True)
            if result.get("doc_url"):
                console.print(f"        Docs: {escape(result['doc_url'])}", soft_wrap=True)
    hidden = (view.redactions or {}).get("hidden") or []
    console.print(f"\n[bold]Redactions[/]: {sum(h.get('count', 0) for h in hidden)} value(s) "
                  "hidden")
    for row in hidden:
        console.print(f"  {row.get('count')} × {escape(str(row.get('kind')))} in "
                      f"{escape(str(row.get('file')))}")
    notes = m.get("notes") or []
    if notes:
        console.print("\n[bold]Not collected[/]")
        for note in notes:
            console.print(f"  {escape(str(note.get('part')))}: {escape(str(note.get('why')))}")
