"""The app's actions through the command palette, the copy key, unexpected interface errors and
the log's wrapping in a narrow pane, driven with the TUI test steps (tests/tui/tui_steps.py).

The command palette is opened with ctrl+p and searched by typing, as a user would; the state file
on disk is the witness of what each entry did.
"""

from __future__ import annotations

import json

import pytest

from textual.command import CommandList, CommandPalette
from textual.widgets import RichLog

from tui_helpers import click, dialog_up, wait_for
from wizard.tui.app import MAX_UNEXPECTED, LabwizApp
from wizard.tui.dialogs import ConfirmDialog, ErrorDialog, InfoDialog

#: the palette entries the issue asks for, as the palette lists them
ENTRIES = ("Run step", "Retry", "Skip step", "Reset to here", "Doctor", "Support bundle", "Quit")


def _status(env) -> dict:
    """Each step's status on disk."""
    doc = json.loads((env["state_dir"] / "state.json").read_text())
    return {k: v["status"] for k, v in doc["steps"].items()}


async def _palette(pilot, entry: str) -> None:
    """Open the command palette, type ``entry`` and run the first match."""
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await pilot.press(*entry)
    # the palette searches its providers in the background: wait until the entry is listed
    # first, however long that takes on a busy machine
    results = pilot.app.screen.query_one(CommandList)
    await wait_for(pilot, lambda: results.option_count and entry in str(
        results.get_option_at_index(0).prompt))
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette))


async def test_palette_entries_exist_and_work(tui_env, tmp_path, monkeypatch):
    """Every wizard action is in the palette, and each entry does what it says."""
    monkeypatch.chdir(tmp_path)  # the support bundle is written in the current directory
    tui_env["work"].mkdir(parents=True)
    (tui_env["work"] / "fail-train").write_text("")
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for entry in ENTRIES:
            assert entry in titles, entry
        await wait_for(pilot, lambda: app.main.query_one("#form").ready)
        # Run step: 'prepare' runs and the wizard moves on
        await _palette(pilot, "Run step")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("prepare") == "done")
        assert app.current == "train"
        # Run step on 'train' fails (fail-train): Retry runs it again once the cause is gone
        await _palette(pilot, "Run step")
        await wait_for(pilot, lambda: dialog_up(app, ErrorDialog))
        await pilot.press("escape")
        assert _status(tui_env)["train"] == "failed"
        (tui_env["work"] / "fail-train").unlink()
        await _palette(pilot, "Retry")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env)["train"] == "done")
        # Skip step: 'predict' is marked skipped without running
        assert app.current == "predict"
        await _palette(pilot, "Skip step")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env)["predict"] == "skipped")
        assert not (tui_env["work"] / "predicted.txt").exists()
        # Reset to here (after a confirmation): 'train' and later steps are pending again
        app.select("train")
        await _palette(pilot, "Reset to here")
        await wait_for(pilot, lambda: dialog_up(app, ConfirmDialog))
        await click(pilot, "#yes")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env)["train"] == "pending")
        assert _status(tui_env) == {"prepare": "done", "train": "pending", "predict": "pending"}
        # Doctor: its results open in a dialog and are kept as 'labwiz doctor' keeps them
        await _palette(pilot, "Doctor")
        await wait_for(pilot, lambda: dialog_up(app, InfoDialog), 120)
        assert app.screen.title_text == "Doctor"
        assert (tui_env["state_dir"] / "doctor.json").exists()
        await pilot.press("escape")
        # Support bundle: written in the current directory
        await _palette(pilot, "Support bundle")
        await wait_for(pilot, lambda: dialog_up(app, InfoDialog), 120)
        assert app.screen.title_text == "Support bundle"
        assert len(list(tmp_path.glob("labwiz-bundle-*.tar.gz"))) == 1
        await pilot.press("escape")
        # Quit: the app ends with exit code 0
        await _palette(pilot, "Quit")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0


async def test_copy_writes_the_commands_to_a_file_and_the_clipboard(tui_env):
    """c puts the step's commands on the clipboard (OSC 52: see test_tui_terminal) and in a file
    whose path the notification shows."""
    app = LabwizApp(tui_env["obj"], blink=False)
    # every notification as it is made: a toast times out, and on a busy machine it may be gone
    # before the test looks, so the test hears app.notify (public) instead of reading the toasts
    notes: list[str] = []
    shown = app.notify
    app.notify = lambda message, *args, **kwargs: (notes.append(str(message)),
                                                   shown(message, *args, **kwargs))[1]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.planned.get("prepare"))  # the commands are worked out
        await pilot.press("c")
        copied = tui_env["state_dir"] / "commands" / "prepare.copy.sh"
        await wait_for(pilot, lambda: any("Copied" in note for note in notes))
        assert app.clipboard == "aws s3 mb s3://lab-bucket\n"
        assert copied.read_text().splitlines()[1:] == ["aws s3 mb s3://lab-bucket"]
        assert copied.stat().st_mode & 0o777 == 0o600
        assert any(str(copied) in note and "Copied 1 command(s)" in note for note in notes), notes
        # after a run, the commands that ran are copied too
        await pilot.press("r")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("prepare") == "done")
        app.select("prepare")
        await pilot.press("c")
        await wait_for(pilot, lambda: app.clipboard.count("aws s3 mb") == 2)
        assert copied.read_text().count("aws s3 mb s3://lab-bucket") == 2


async def test_running_from_a_focused_field_keeps_the_log_on_show(tui_env):
    """Run (here from the palette) while a form field has focus: the Log tab shows the run and
    stays, also when the form is rebuilt for the next step afterwards."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.query_one("#form").ready)
        await pilot.press("2")
        await click(pilot, "#in-bucket")
        assert app.focused.id == "in-bucket"
        await _palette(pilot, "Run step")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("prepare") == "done")
        await wait_for(pilot, lambda: app.main.query_one("#form").step_id == "train"
                       and app.main.query_one("#form").ready)
        await pilot.pause(0.2)
        assert app.main.active_tab() == "log"


@pytest.mark.ui_errors_expected
async def test_interface_errors_show_a_dialog_then_stop_cleanly(tui_env):
    """An exception in one of the app's handlers opens a dialog and the app keeps working; after
    too many, the app exits with a message and the resume command, the traceback in the log."""
    from wizard.tui.messages import ShowData

    app = LabwizApp(tui_env["obj"], blink=False)

    def bug():
        """A view the app's own handler cannot draw (a list where a mapping belongs), as a buggy
        step could send: the app's ``on_show_data`` raises."""
        app.post_message(ShowData("prepare", "digits", ["not", "a", "mapping"]))

    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.query_one("#form").ready)
        bug()
        await wait_for(pilot, lambda: dialog_up(app, ErrorDialog))
        assert app.screen.title_text == "Unexpected error"
        assert app.screen.message.startswith("AttributeError: ")
        assert str(tui_env["state_dir"] / "labwiz.log") in app.screen.remediation
        await pilot.press("escape")
        # the app's message loop survived: a key still runs a step
        await pilot.press("r")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("prepare") == "done")
        for _ in range(2, MAX_UNEXPECTED + 2):
            bug()
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1
    assert f"after {MAX_UNEXPECTED + 1} unexpected errors" in app.exit_message
    assert "AttributeError" in app.exit_message
    assert f"labwiz --state-dir {tui_env['state_dir']}" in app.exit_message
    log_text = (tui_env["state_dir"] / "labwiz.log").read_text()
    assert "Traceback" in log_text and "AttributeError" in log_text


async def test_log_lines_wrap_inside_a_narrow_pane(tui_env):
    """At 80×24 a long log line wraps at the pane's width instead of being clipped, also when it
    was written while the Log tab was hidden (a hidden widget has no width to wrap at)."""
    app = LabwizApp(tui_env["obj"], blink=False)
    long_line = "uploading " + " ".join(f"part-{i:03d}" for i in range(40))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.main.query_one("#form").ready)
        app.main.write_log(long_line)  # before the Log tab was ever shown
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        app.main.write_log(long_line)  # after it was shown, while another tab is on show
        await pilot.press("4")
        await pilot.pause()
        app.main.write_log(long_line)  # while it shows
        log = app.main.query_one("#log", RichLog)
        await wait_for(pilot, lambda: log.plain_text.count("part-039") == 3)
        width = log.scrollable_content_region.width
        assert 20 < width < 78  # the narrow layout: less than RichLog's default wrap width
        assert log.virtual_size.width <= width
        lengths = [len(line.text.rstrip()) for line in log.lines]
        assert max(lengths) <= width
        # every copy wrapped at the same, full width: as many rows each, none cut at 20 columns
        assert len(log.lines) % 3 == 0
        rows = len(log.lines) // 3
        assert lengths[:rows] == lengths[rows:2 * rows] == lengths[2 * rows:]
        assert lengths[0] > width - 10
        words = " ".join(line.text.strip() for line in log.lines).split()
        assert words.count("part-039") == 3  # nothing lost in the wrapping


async def test_a_late_worker_message_does_not_handle_a_result_twice(tui_env):
    """A busy machine can deliver a worker's RUNNING message after the worker finished: it must
    not be taken for its result (that opened a second error dialog for one failure)."""
    from textual.worker import Worker, WorkerState

    tui_env["work"].mkdir(parents=True)
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: app.busy is None and _status(tui_env).get("prepare") == "done")
        (tui_env["work"] / "fail-train").write_text("")
        hold = tui_env["work"] / "hold-train"
        hold.write_text("")
        await pilot.press("r")
        await wait_for(pilot, lambda: any(w.name == "run:train" for w in app.workers))
        worker = next(w for w in app.workers if w.name == "run:train")
        hold.unlink()
        await wait_for(pilot, lambda: dialog_up(app, ErrorDialog))
        assert worker.state == WorkerState.SUCCESS  # the runner returned a failed outcome
        app.post_message(Worker.StateChanged(worker, WorkerState.RUNNING))
        await pilot.pause(0.3)
        dialogs = [s for s in app.screen_stack if isinstance(s, ErrorDialog)]
        assert len(dialogs) == 1
        assert json.loads((tui_env["state_dir"] / "state.json").read_text())[
            "steps"]["train"]["attempts"] == 1
