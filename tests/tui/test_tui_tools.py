"""Doctor and support bundle from the TUI's keys, and the inspect view of the written bundle."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import ListView, Static

from tui_helpers import dialog_up, wait_for
from wizard.tui.app import LabwizApp
from wizard.tui.dialogs import InfoDialog


def _plain(renderable) -> str:
    """A renderable as plain text."""
    console = Console(width=160, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_doctor_and_bundle_keys_then_inspect(tui_env, tmp_path, monkeypatch):
    """Doctor and bundle keys then inspect."""
    monkeypatch.chdir(tmp_path)  # the bundle goes in the current directory, as with 'labwiz bundle'
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: app.busy is None and app.current == "train")
        await pilot.press("d")
        await wait_for(pilot, lambda: dialog_up(app, InfoDialog), 120)
        text = _plain(app.screen.body)
        assert "passed" in text and "skipped" in text and "aws-credentials" in text
        assert (tui_env["state_dir"] / "doctor.json").exists()
        # each failure or warning comes with its documentation link, beside what to do
        import json

        results = json.loads((tui_env["state_dir"] / "doctor.json").read_text())["results"]
        flagged = [r for r in results if r["status"] in ("fail", "warn") and r.get("doc_url")]
        assert flagged, "the test lab (no AWS access) should fail some checks"
        flat = text.replace("\n", "").replace(" ", "")
        for result in flagged:
            assert result["doc_url"] in flat, result["name"]
        assert text.count("Docs: ") == len(flagged)
        await pilot.press("escape")
        await pilot.press("b")
        await wait_for(pilot, lambda: dialog_up(app, InfoDialog), 120)
        text = _plain(app.screen.body)
        assert "Support bundle written" in text
    bundles = list(tmp_path.glob("labwiz-bundle-*.tar.gz"))
    assert len(bundles) == 1 and str(bundles[0]) in text.replace("\n", "")

    from wizard.bundle import read_bundle
    from wizard.tui.inspect import InspectApp

    view = read_bundle(bundles[0])
    from wizard.tui.inspect import doctor_table

    flagged = [r for r in view.doctor if r.get("status") in ("fail", "warn") and r.get("doc_url")]
    assert flagged and _plain(doctor_table(view)).count("Docs: ") == len(flagged)
    inspect = InspectApp(view)
    async with inspect.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lab = _plain(inspect.query_one("#tab-lab").query_one(Static).content)
        assert "prepare" in lab and "done" in lab
        inspect.query_one("TabbedContent").active = "tab-files"
        files = inspect.query_one("#files", ListView)
        names = [item.name for item in files.children]
        assert "manifest.json" in names and "state.json" in names
        files.focus()
        files.index = names.index("manifest.json")
        await wait_for(pilot, lambda: '"format"' in str(inspect.query_one("#file-text", Static).content))
