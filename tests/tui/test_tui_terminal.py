"""labwiz in real terminals: tmux sessions driven with send-keys, and runs without any terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tui_helpers import Tmux, labwiz_command

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.tools("tmux")  # missing: the tests fail naming it, never skip


@pytest.fixture
def term(tmp_path):
    """Open tmux sessions for a test and close them afterwards."""
    sessions = []

    def open_(command: str, width: int = 100, height: int = 30) -> Tmux:
        """Open one tmux session running ``command``."""
        session = Tmux(f"labwiz-test-{uuid.uuid4().hex[:8]}", command, width, height)
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        session.close()


def _wait_file(path: Path, timeout: float = 30.0) -> str:
    """Wait for a file to be written; return its text."""
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.1)
    return path.read_text().strip()


def test_tui_in_tmux_runs_a_step_and_quits(term, tmp_path):
    """Tui in tmux runs a step and quits."""
    state, rc = tmp_path / "state", tmp_path / "rc"
    tty = term(labwiz_command(state, tmp_path / "w", rc_file=rc), 100, 30)
    tty.wait_for("Step 1 of 3: Prepare")
    screen = tty.wait_for("r Run")  # the footer's keys come a frame after the screen's
    assert "sandbox" not in screen.splitlines()[0]
    tty.keys("r")
    screen = tty.wait_for("Step 2 of 3: Train")
    assert "✔ 1. Prepare" in screen
    doc = json.loads((state / "state.json").read_text())
    assert doc["steps"]["prepare"]["status"] == "done"
    assert (tmp_path / "w" / "lab-bucket").is_dir()
    tty.keys("q")
    assert _wait_file(rc) == "0"


def test_small_terminal_layout_and_too_small_message(term, tmp_path):
    """Small terminal layout and too small message."""
    tty = term(labwiz_command(tmp_path / "state", tmp_path / "w"), 80, 24)
    tty.wait_for("Step 1 of 3")
    screen = tty.wait_for("r Run")  # the footer's keys come a frame after the screen's
    lines = screen.splitlines()
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    assert "1. Prepare" in screen and "r Run" in screen
    tty.resize(70, 24)  # the footer is cut from the right: Quit stays
    screen = tty.wait_for("q Quit")
    assert "r Run" in screen
    tty.resize(50, 14)
    screen = tty.wait_for("labwiz needs at least")
    assert "This terminal is 50×14" in screen and "Step 1 of 3" not in screen
    tty.resize(80, 24)
    tty.wait_for("Step 1 of 3")


def test_no_color_draws_without_colours(term, tmp_path):
    """No color draws without colours."""
    tty = term(labwiz_command(tmp_path / "state", tmp_path / "w", env={"NO_COLOR": "1"}), 100, 30)
    tty.wait_for("Step 1 of 3")
    coloured = []
    for code in tty.screen(escapes=True).split("\x1b[")[1:]:
        params = code.split("m", 1)[0].split(";")
        # 38/48;5;N are palette colours, 38/48;2;R;G;B true colours; greys are allowed
        for i, p in enumerate(params):
            if p in ("38", "48") and i + 1 < len(params):
                if params[i + 1] == "2" and len(set(params[i + 2:i + 5])) > 1:
                    coloured.append(code[:20])
                if params[i + 1] == "5" and not (232 <= int(params[i + 2]) <= 255 or
                                                 params[i + 2] in ("0", "7", "8", "15", "16", "231")):
                    coloured.append(code[:20])
    assert not coloured, coloured[:5]


def test_dumb_terminal_falls_back_to_plain_prompts(term, tmp_path):
    """Dumb terminal falls back to plain prompts."""
    state, rc = tmp_path / "state", tmp_path / "rc"
    tty = term(labwiz_command(state, tmp_path / "w", env={"TERM": "dumb"}, rc_file=rc), 100, 30)
    tty.wait_for("Bucket name [lab-bucket]")
    tty.keys("plain-bucket", "Enter")
    tty.wait_for("Endpoint token")
    tty.keys("t0ken", "Enter")
    assert _wait_file(rc) == "0"
    doc = json.loads((state / "state.json").read_text())
    assert [doc["steps"][s]["status"] for s in ("prepare", "train", "predict")] == ["done"] * 3
    assert doc["inputs"]["bucket"] == "plain-bucket" and "t0ken" not in json.dumps(doc)
    # a second start says where the lab stands and offers to reset to a step
    rc2 = tmp_path / "rc2"
    tty = term(labwiz_command(state, tmp_path / "w", env={"TERM": "dumb"}, rc_file=rc2), 100, 30)
    tty.wait_for("3 of 3 steps are done")
    tty.wait_for("What now?")
    tty.keys("2", "Enter")  # Reset to a step
    tty.wait_for("Reset to which step?")
    tty.keys("3", "Enter")  # predict
    tty.wait_for("Endpoint token")
    tty.keys("t0ken", "Enter")
    assert _wait_file(rc2) == "0"
    doc = json.loads((state / "state.json").read_text())
    assert doc["steps"]["predict"]["attempts"] == 2 and doc["steps"]["train"]["attempts"] == 1


def test_plain_prompts_stopped_say_the_command_that_resumes_this_lab(term, tmp_path):
    """Ctrl-C at a plain prompt: the hint to resume names this lab's state directory and the
    plain front-end, not a bare 'labwiz' (which would open another lab, in the TUI)."""
    state, rc = tmp_path / "state", tmp_path / "rc"
    tty = term(labwiz_command(state, tmp_path / "w", "--plain", rc_file=rc), 200, 30)
    tty.wait_for("Bucket name")
    tty.keys("C-c")
    screen = tty.wait_for("again to resume")
    assert f"Run 'labwiz --state-dir {state} --plain' again to resume." in " ".join(screen.split())
    assert _wait_file(rc) == "130"


def test_without_a_tty_labwiz_does_not_hang(tmp_path):
    """Without a tty labwiz does not hang."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABWIZ_", "AWS_"))}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", LABWIZ_STEPS="tests.tui.tui_steps:STEPS",
               LABWIZ_TEST_WORKDIR=str(tmp_path / "w"))
    result = subprocess.run([sys.executable, "-m", "wizard", "--state-dir", str(tmp_path / "s")],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=60)
    assert "No interactive terminal" in result.stdout and "labwiz run" in result.stdout
    assert "Usage:" in result.stdout
    demo = subprocess.run([sys.executable, "-m", "wizard", "--state-dir", str(tmp_path / "s"), "demo"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)
    assert demo.returncode == 2 and "needs an interactive terminal" in demo.stderr


def test_without_a_tty_labwiz_runs_headless_from_an_answers_file(tmp_path):
    """`labwiz --answers FILE --yes` with no terminal at all runs the lab headless, asks nothing,
    and keeps the secret answer off the screen and out of the state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABWIZ_", "AWS_"))}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", LABWIZ_STEPS="tests.tui.tui_steps:STEPS",
               LABWIZ_TEST_WORKDIR=str(tmp_path / "w"))
    answers = tmp_path / "answers.yaml"
    answers.write_text("bucket: headless-bucket\napi_token: canary-t0ken-4242\n")
    state = tmp_path / "s"
    result = subprocess.run([sys.executable, "-m", "wizard", "--state-dir", str(state),
                             "--answers", str(answers), "--yes"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Usage:" not in output
    doc = json.loads((state / "state.json").read_text())
    assert [doc["steps"][s]["status"] for s in ("prepare", "train", "predict")] == ["done"] * 3
    assert doc["inputs"]["bucket"] == "headless-bucket"
    assert "canary-t0ken-4242" not in output and "canary-t0ken-4242" not in json.dumps(doc)
    # a broken answers file is refused with what to do, before anything runs
    answers.write_text("- not\n- a mapping\n")
    again = subprocess.run([sys.executable, "-m", "wizard", "--state-dir", str(tmp_path / "s2"),
                            "--answers", str(answers)], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert again.returncode == 2 and "must be a mapping" in again.stdout + again.stderr


def test_copy_key_sends_osc52_to_the_terminal(term, tmp_path):
    """c sends the commands to the terminal's clipboard with OSC 52 (tmux with set-clipboard on
    keeps what it receives in a paste buffer) and writes them to the file the notice names."""
    state = tmp_path / "state"
    tty = term(labwiz_command(state, tmp_path / "w"), 120, 30)
    tty.option("set-clipboard", "on")
    tty.wait_for("Step 1 of 3: Prepare")
    plan = state / "commands" / "prepare.plan.sh"
    _wait_file(plan)  # the step's commands are worked out (the copy key needs them)
    assert tty.buffer() is None
    tty.keys("c")
    screen = tty.wait_for("Copied 1 command(s)")
    deadline = time.monotonic() + 10
    while tty.buffer() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tty.buffer() == "aws s3 mb s3://lab-bucket\n"
    copied = state / "commands" / "prepare.copy.sh"
    assert "aws s3 mb s3://lab-bucket" in copied.read_text()
    assert "prepare.copy.sh" in screen.replace("\n", "")


def test_repeated_interface_errors_end_cleanly_without_a_traceback(term, tmp_path):
    """A step sends views the interface cannot draw, more times than the app shows dialogs for:
    the app exits with code 1 and a message naming the log and the resume command, and the
    terminal shows no traceback."""
    state, rc, work = tmp_path / "state", tmp_path / "rc", tmp_path / "w"
    work.mkdir()
    (work / "bad-view").write_text("8")
    tty = term(labwiz_command(state, work, rc_file=rc), 120, 30)
    tty.wait_for("Step 1 of 3: Prepare")
    tty.keys("r")
    assert _wait_file(rc) == "1"
    screen = tty.screen()
    flat = " ".join(screen.split())
    assert "labwiz stopped after 6 unexpected errors" in flat, screen
    assert "labwiz.log" in flat and f"labwiz --state-dir {state}" in flat, screen
    assert "Traceback" not in screen
    log_text = (state / "labwiz.log").read_text()
    assert "Traceback" in log_text and "AttributeError" in log_text


def test_error_dialog_scrolls_to_what_to_do_at_80x24(term, tmp_path):
    """A failure with a long message at 80×24: "What to do" is below the fold, and the keys
    scroll the dialog's body to it (and to "To reproduce") while Retry keeps the focus."""
    work = tmp_path / "w"
    work.mkdir()
    reason = " ".join(f"SageMaker says line {n} of a long ValidationException." for n in range(14))
    (work / "fail-train").write_text(f"the training job failed: {reason}")
    tty = term(labwiz_command(tmp_path / "state", work), 80, 24)
    tty.wait_for("Step 1 of 3: Prepare")
    tty.keys("r")
    tty.wait_for("Step 2 of 3: Train")
    tty.keys("r")
    screen = tty.wait_for("Step 'Train' failed")
    assert "What to do" not in screen and "scroll" in screen
    tty.keys("End")
    screen = tty.wait_for("What to do")
    assert "quota" in screen and "To reproduce" in screen
    assert "Retry" in screen
