"""The demo autopilot, driven with keys: space pauses, n runs the next step, --from resets to a step.

A long pause keeps the countdown from firing on its own, so every step starts from a key press and
the test never depends on timing.
"""

from __future__ import annotations

import json

from textual.widgets import Static

from tui_helpers import dialog_up, wait_for
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
        await wait_for(pilot, lambda: dialog_up(app, ErrorDialog))
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


async def test_autopilot_from_a_later_step_on_a_fresh_lab_catches_up(tui_env):
    """`labwiz demo --from train` on a lab that never ran: 'prepare' runs first, at once and
    without a key press (the screen says so), then the countdown waits before 'train'."""
    app = LabwizApp(tui_env["obj"], autopilot={"pause": 600, "from_step": "train"}, blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "'Train' starts in" in _bar(app))
        assert _status(tui_env)["prepare"] == "done"
        assert _status(tui_env).get("train", "pending") == "pending"
        # the Log tab is filled just after the first frame: its lines may still be on their way
        await wait_for(pilot, lambda: "without pauses: 'Prepare'"
                       in app.main.query_one("#log").plain_text)
        log_text = app.main.query_one("#log").plain_text
        assert "The demo starts at 'Train'" in log_text and "without pauses: 'Prepare'" in log_text
        assert (tui_env["work"] / "lab-bucket").is_dir()  # 'prepare' really ran, with its defaults
        await pilot.press("n")
        await wait_for(pilot, lambda: _status(tui_env)["train"] == "done" and app.busy is None)
    doc = json.loads((tui_env["state_dir"] / "state.json").read_text())
    assert doc["steps"]["prepare"]["attempts"] == 1 and doc["steps"]["train"]["attempts"] == 1


async def test_catching_up_holds_on_space_and_stops_on_a_failure(tui_env):
    """Space holds the catch-up like any countdown; a failing earlier step stops it with the
    error dialog, and a retry carries on to the demo's first step."""
    tui_env["work"].mkdir(parents=True)
    (tui_env["work"] / "fail-train").write_text("")
    app = LabwizApp(tui_env["obj"], autopilot={"pause": 600, "from_step": "predict"}, blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        # the dialog is up and answers keys once it has focused its Retry button
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog)
                       and getattr(app.focused, "id", None) == "retry", 30)
        assert _status(tui_env).get("train") == "failed", (app.screen.title_text, app.screen.message)
        assert _status(tui_env)["prepare"] == "done"
        assert _status(tui_env).get("predict", "pending") == "pending"
        assert "ResourceLimitExceeded" in app.screen.message
        (tui_env["work"] / "fail-train").unlink()
        await pilot.press("escape")  # close the dialog; the demo holds
        await pilot.press("space")  # paused: the retried step still runs (it was asked for)...
        assert app.autopilot.paused
        await pilot.press("t")
        await wait_for(pilot, lambda: _status(tui_env)["train"] == "done" and app.busy is None)
        # ...but the demo waits before its first step, which keeps its countdown
        await wait_for(pilot, lambda: "paused before 'Predict'" in _bar(app))
        assert _status(tui_env).get("predict", "pending") == "pending"


async def test_pause_while_a_step_runs_says_so_and_holds_the_next(tui_env):
    """Space while a step runs: the status line says the demo is paused and waits after the
    step; the next step does not start until space again."""
    tui_env["work"].mkdir(parents=True, exist_ok=True)
    hold = tui_env["work"] / "hold-train"
    hold.write_text("")
    app = LabwizApp(tui_env["obj"], autopilot={"pause": 0, "from_step": None}, blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "running 'Train'" in _bar(app), 60)
        await pilot.press("space")
        assert "Autopilot paused: 'Train' finishes, then the demo waits" in _bar(app)
        hold.unlink()
        await wait_for(pilot, lambda: "paused before 'Predict'" in _bar(app), 60)
        assert "predict" not in _status(tui_env)  # held: it did not start
        await pilot.press("space")
        await wait_for(pilot, lambda: dialog_up(app, ErrorDialog), 60)  # it ran
