"""The demo autopilot, driven with keys: space pauses, n runs the next step, --from resets to a step.

A long pause keeps the countdown from firing on its own, so every step starts from a key press and
the test never depends on timing.
"""

from __future__ import annotations

import json

from textual.widgets import Static

from tui_helpers import wait_for
from wizard.tui.app import LabwizApp
from wizard.tui.dialogs import ErrorDialog


def _status(env) -> dict:
    """Each step's status on disk."""
    doc = json.loads((env["state_dir"] / "state.json").read_text())
    return {k: v["status"] for k, v in doc["steps"].items()}


def _bar(app) -> str:
    """The autopilot's status line."""
    return str(app.main.query_one("#autopilot", Static).content)


async def test_autopilot_steps_pauses_and_stops_on_error(tui_env):
    """Autopilot steps pauses and stops on error."""
    app = LabwizApp(tui_env["obj"], autopilot={"pause": 600, "from_step": None}, blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "'Prepare' starts in" in _bar(app))
        await pilot.press("space")
        assert "paused before 'Prepare'" in _bar(app)
        await pilot.press("space")
        assert "'Prepare' starts in" in _bar(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: "'Train' starts in" in _bar(app))
        assert _status(tui_env)["prepare"] == "done"
        await pilot.press("n")
        await wait_for(pilot, lambda: "'Predict' starts in" in _bar(app))
        assert _status(tui_env)["train"] == "done"
        assert app.main.active_tab() == "monitor"  # the graph arrived while 'train' ran
        # the secret has no default and the autopilot never prompts: the step stops, explained
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        assert "api_token" in app.screen.message
        assert "stopped by an error" in _bar(app) or "Fix it" in _bar(app)
    assert "predict" not in _status(tui_env) or _status(tui_env)["predict"] != "done"


async def test_autopilot_from_step_resets_and_reruns_it(tui_env):
    """Autopilot from step resets and reruns it."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        for step in ("prepare", "train"):
            await pilot.press("r")
            await wait_for(pilot, lambda: app.busy is None and app.doc["steps"].get(step, {})
                           .get("status") == "done")
    app = LabwizApp(tui_env["obj"], autopilot={"pause": 600, "from_step": "train"}, blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "'Train' starts in" in _bar(app))
        assert _status(tui_env) == {"prepare": "done", "train": "pending"}
        await pilot.press("n")
        await wait_for(pilot, lambda: _status(tui_env)["train"] == "done" and app.busy is None)
    doc = json.loads((tui_env["state_dir"] / "state.json").read_text())
    assert doc["steps"]["train"]["attempts"] == 2
