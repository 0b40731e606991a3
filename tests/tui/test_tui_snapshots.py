"""Snapshot tests (pytest-textual-snapshot) of the main screen, the monitoring view and the endpoint
test view, at 80×24 and 120×40.

The data is fixed: a state document with set durations, the graph/resources/digits shapes from
tests/tui/tui_steps.py, no clocks and no random ids on screen. Cursor blink is off. Update the
snapshots with ``pytest tests/tui --snapshot-update`` after a deliberate change of the layout.
"""

from __future__ import annotations

import pytest

from tui_steps import GRAPH, RESOURCES, digits_data
from wizard.state import StateStore
from wizard.tui.app import LabwizApp
from wizard.tui.messages import ShowData

SIZES = [(80, 24), (120, 40)]


def _app(tui_env) -> LabwizApp:
    """The app over a lab where 'prepare' is done and 'train' failed once."""
    store = StateStore(tui_env["state_dir"])
    doc = store.load()
    doc["inputs"] = {"bucket": "lab-bucket"}
    doc["steps"] = {
        "prepare": {"status": "done", "attempts": 1, "duration_s": 1.5, "outputs": {"bucket": "lab-bucket"}},
        "train": {"status": "failed", "attempts": 1, "duration_s": 42.0,
                  "error": {"type": "StepError", "message": "the training job failed",
                            "remediation": "Ask for a higher quota."}},
    }
    store.save(doc)
    tui_env["work"].mkdir(parents=True, exist_ok=True)
    (tui_env["work"] / "lab-bucket").mkdir()
    return LabwizApp(tui_env["obj"], blink=False)


async def _resume(pilot) -> None:
    """Dismiss the resume dialog (carry on)."""
    await pilot.pause()
    await pilot.press("escape")  # the resume dialog: carry on where the lab stands
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, tui_env, size):
    """Main screen."""
    assert snap_compare(_app(tui_env), terminal_size=size, run_before=_resume)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_resume_dialog(snap_compare, tui_env, size):
    """Resume dialog."""
    async def settle(pilot):
        """Let the first screen settle."""
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitoring_view(snap_compare, tui_env, size):
    """Monitoring view."""
    async def show(pilot):
        """Send fixed data, then show its tab."""
        await _resume(pilot)
        pilot.app.post_message(ShowData("train", "graph", GRAPH))
        pilot.app.post_message(ShowData("train", "resources", RESOURCES))
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_endpoint_view(snap_compare, tui_env, size):
    """Endpoint view."""
    async def show(pilot):
        """Send fixed data, then show its tab."""
        await _resume(pilot)
        pilot.app.post_message(ShowData("predict", "digits", digits_data()))
        await pilot.press("6")
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=size, run_before=show)
