"""Pilot tests of the TUI's event flow with the controllable test steps (tests/tui/tui_steps.py).

Each test drives the real app with key presses and clicks; the steps do real (small) work in a
temporary directory, and the state file on disk is the witness of what happened.
"""

from __future__ import annotations

import json

from textual.widgets import Input, RichLog, Static

from tui_helpers import click, dialog_up, static_text, wait_for
from wizard.tui.app import LabwizApp
from wizard.tui.dialogs import ConfirmDialog, ErrorDialog, PromptDialog, ResumeDialog


def _state(env) -> dict:
    """The state document on disk."""
    return json.loads((env["state_dir"] / "state.json").read_text())


def _status(env) -> dict:
    """Each step's status on disk."""
    return {k: v["status"] for k, v in _state(env)["steps"].items()}


def _text(widget: Static) -> str:
    """What a Static shows, as plain text."""
    return static_text(widget, width=120)


async def test_start_input_run_done(tui_env):
    """Start input run done."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.query_one("#form").ready)
        field = app.main.query_one("#in-bucket", Input)
        await wait_for(pilot, lambda: field.value == "lab-bucket")  # prefilled from the default
        await pilot.press("2")  # the Inputs tab
        field.value = "Not A Bucket!"
        await click(pilot, "#run-step")
        error = app.main.query_one("#err-bucket", Static)
        await wait_for(pilot, lambda: "not a valid bucket name" in _text(error))
        assert not (tui_env["state_dir"] / "state.json").exists() or "prepare" not in _status(tui_env)
        field.value = "my-data"
        # Enter in the form's last field runs the step too: a key goes to the focused field
        # wherever the layout is, while a click lands where the button was last drawn (under
        # load, before the Inputs tab is drawn again after the failed attempt, nowhere)
        field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.busy is None and app.doc["steps"].get("prepare", {})
                       .get("status") == "done")
        assert (tui_env["work"] / "my-data").is_dir()
        assert _state(tui_env)["inputs"]["bucket"] == "my-data"
        log_text = "\n".join(str(line.text) for line in app.main.query_one("#log", RichLog).lines)
        assert "$ aws s3 mb s3://my-data" in log_text and "bucket my-data ready" in log_text
        # the wizard moved on to the next step, and the commands tab kept what ran
        assert app.current == "train"
        await pilot.press("1")
        app.select("prepare")
        await wait_for(pilot, lambda: "s3://my-data" in _text(app.main.query_one("#commands", Static)))
        assert (tui_env["state_dir"] / "commands" / "prepare.sh").read_text().strip().endswith(
            "s3://my-data")
        assert (tui_env["state_dir"] / "commands" / "prepare.plan.sh").exists()


async def test_failure_opens_error_dialog_and_retry_succeeds(tui_env):
    """Failure opens error dialog and retry succeeds."""
    tui_env["work"].mkdir(parents=True)
    (tui_env["work"] / "fail-train").write_text("")
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: app.current == "train" and app.busy is None)
        await pilot.press("r")
        await wait_for(pilot, lambda: dialog_up(app, ErrorDialog))
        dialog = app.screen
        assert "ResourceLimitExceeded" in dialog.message
        assert "quota" in dialog.remediation
        assert dialog.reproduce.endswith("run --only train")
        assert _status(tui_env)["train"] == "failed"
        # the monitor view got the pipeline's graph before the failure
        assert "train-kmeans" in _text(app.main.query_one("#graph", Static))
        (tui_env["work"] / "fail-train").unlink()
        await click(pilot, "#retry")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("train") == "done")
        assert not isinstance(app.screen, ErrorDialog)
        assert _state(tui_env)["steps"]["train"]["attempts"] == 2
        assert app.current == "predict"


async def test_prompter_bridge_asks_for_a_secret_in_a_dialog(tui_env):
    """Prompter bridge asks for a secret in a dialog."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        for step in ("prepare", "train"):
            await pilot.press("r")
            await wait_for(pilot, lambda: app.busy is None and app.doc["steps"].get(step, {})
                           .get("status") == "done")
        assert app.current == "predict"
        await pilot.press("r")
        await wait_for(pilot, lambda: dialog_up(app, PromptDialog))
        assert app.screen.spec.name == "api_token"
        app.screen.query_one("#answer", Input).value = "s3cr3t-t0ken"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("predict") == "done")
        assert "s3cr3t-t0ken" not in (tui_env["state_dir"] / "state.json").read_text()
        # the endpoint view drew the digits and their clusters
        assert "cluster 4" in _text(app.main.query_one("#endpoint").query_one("#digits", Static)) \
            or app.main.active_tab() == "endpoint"


async def test_keys_are_answered_while_a_step_runs(tui_env):
    """Keys are answered while a step runs."""
    tui_env["work"].mkdir(parents=True)
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: app.current == "train" and app.busy is None)
        hold = tui_env["work"] / "hold-train"
        hold.write_text("")
        await pilot.press("r")
        await wait_for(pilot, lambda: _status(tui_env).get("train") == "running")
        await pilot.press("6")
        assert app.main.active_tab() == "endpoint" and app.busy == "train"
        await pilot.press("r")  # a second run is refused while one is going
        assert app.busy == "train"
        hold.unlink()
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env)["train"] == "done")
        assert _state(tui_env)["steps"]["train"]["attempts"] == 1


async def test_resume_dialog_reset_to_a_step(tui_env):
    """Resume dialog reset to a step."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        for step in ("prepare", "train"):
            await pilot.press("r")
            await wait_for(pilot, lambda: app.busy is None and app.doc["steps"].get(step, {})
                           .get("status") == "done")
    # a new session on the same state offers to resume
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        summary = _text(app.screen.query_one("#resume-summary", Static))
        assert "2 of 3 steps are done" in summary and "Next: Predict" in summary
        app.screen.query_one("#reset-step").value = "train"
        await click(pilot, "#reset")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env)["train"] == "pending")
        assert _status(tui_env)["prepare"] == "done"
        assert app.current == "train"


async def test_resume_dialog_resume_and_skip_and_reset_here(tui_env):
    """Resume dialog resume and skip and reset here."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("prepare") == "skipped")
        assert app.current == "train"
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        await click(pilot, "#resume")
        assert app.current == "train" and _status(tui_env)["prepare"] == "skipped"
        app.select("prepare")
        await pilot.press("R")
        await wait_for(pilot, lambda: dialog_up(app, ConfirmDialog))
        await click(pilot, "#yes")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env)["prepare"] == "pending")


async def test_running_out_of_order_is_explained(tui_env):
    """Running out of order is explained."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        app.select("predict")
        await pilot.press("r")
        await wait_for(pilot, lambda: dialog_up(app, ErrorDialog))
        assert "needs 'Prepare' first" in app.screen.message
        assert not app.screen.can_retry
        await pilot.press("escape")
        assert not (tui_env["state_dir"] / "state.json").exists() or not _state(tui_env)["steps"]


async def test_resume_of_a_killed_step_says_interrupted_and_runs_it_again(tui_env):
    """A step left 'running' by a process that died is shown as interrupted (in the sidebar,
    the step's banner and the resume dialog), nothing pretends to run, and r runs it again.

    Holds whether the state says 'running' (as a killed labwiz leaves it) or, once the engine
    records it so, 'interrupted'."""
    from wizard.state import StateStore

    store = StateStore(tui_env["state_dir"])
    doc = store.load()
    doc["steps"] = {"prepare": {"status": "done", "attempts": 1, "duration_s": 1.5,
                                "outputs": {"bucket": "lab-bucket"}},
                    "train": {"status": "running", "attempts": 1,
                              "started_at": "2026-12-03T08:00:00Z"}}
    store.save(doc)
    tui_env["work"].mkdir(parents=True, exist_ok=True)
    (tui_env["work"] / "lab-bucket").mkdir()
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        summary = static_text(app.screen.query_one("#resume-summary", Static))
        assert "'Train' was interrupted" in summary and "Resume runs it again" in summary
        await click(pilot, "#resume")
        item = app.main.query_one("#step-train")
        shown = static_text(item, 60)
        assert "interrupted" in shown and "running" not in shown
        assert "running" not in static_text(app.main.query_one("#step-title", Static))
        assert "stopped while this step ran" in static_text(app.main.query_one("#step-error",
                                                                               Static))
        assert app.current == "train" and app.busy is None
        await pilot.press("r")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env)["train"] == "done", 60)
        assert _state(tui_env)["steps"]["train"]["attempts"] == 2
        assert "interrupted" not in static_text(item, 60)


async def test_quit_at_once_waits_for_the_tabs_then_quits_cleanly(tui_env):
    """q pressed at the first frame, while the tabs' contents are still being mounted: the app
    quits once they are (no error from a form being torn down while it mounts), exit code 0."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        main = app.main
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0
    assert main.settled
