"""What a learner reads in a whole sandbox lab: the headless transcript and the plain questions.

Two whole labs, each on a fresh sandbox of its own:

* ``labwiz run --sandbox --yes`` in a pipe at 100 columns: its output must stay short enough to
  read (under 200 lines), show the nine step headers in order, each step's result line, and the
  closing summary. With ``LABWIZ_UPDATE_TRANSCRIPT=1`` the output is written to
  ``docs/transcript.md`` (the temporary state directory shown as ``/tmp/lab``).
* the plain front-end with every default accepted: a learner makes at most eight decisions.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_labwiz

pytestmark = pytest.mark.slow

STEP_TITLES = ["Credentials", "Data upload", "CRD selection", "Component generation", "Compile",
               "Upload", "Run monitoring", "Endpoint test", "Cleanup"]
MAX_LINES = 200
MAX_DECISIONS = 8


@pytest.fixture(scope="module")
def transcript(tmp_path_factory):
    """The output of a whole headless sandbox lab in a pipe, 100 columns wide."""
    state = tmp_path_factory.mktemp("transcript") / "state"
    result = run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--yes"], timeout=900,
                        env={"COLUMNS": "100"})
    try:
        yield state, result
    finally:
        run_labwiz(["--state-dir", str(state), "sandbox", "down"], timeout=120)


def test_headless_lab_transcript(transcript):
    """Nine step headers in order, a result line each, the summary, each log line once, no
    monitoring table, and each step's commands in the file its end names."""
    state, result = transcript
    out = result.stdout
    if os.environ.get("LABWIZ_UPDATE_TRANSCRIPT"):
        _write_transcript(out.replace(str(state), "/tmp/lab"))
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    lines = out.splitlines()
    headers = [line.split(" — ")[0] for line in lines if re.match(r"Step \d of 9 · ", line)]
    assert headers == [f"Step {n} of 9 · {title}" for n, title in enumerate(STEP_TITLES, 1)]
    for title in STEP_TITLES:
        assert re.search(rf"^✔ {re.escape(title)} done in ", out, re.M), title
    summary = out[out.index("Summary"):]
    for title in STEP_TITLES:
        assert title in summary
    assert "Endpoint: " in summary and "removed by cleanup" in summary
    # monitoring printed changes only: no status table, no log line twice
    tails = [line for line in lines if " │ " in line]
    assert len(tails) == len(set(tails)), "a log line was printed twice"
    assert not any(line.startswith("kind ") for line in lines), "a resources table was printed"
    # every command was shown (short) and is kept whole in the file the step's end names
    for step in ("credentials", "component-generation", "cleanup"):
        assert f"commands/{step}.sh" in out, step
        assert (state / "commands" / f"{step}.sh").stat().st_size > 0
    generate = [line for line in lines if line.startswith("$ labwiz generate")]
    assert len(generate) == 1 and "{" in generate[0], "seven alike commands print as one line"


def test_headless_lab_under_200_lines_at_100_columns(transcript):
    """The issue's bound: a whole sandbox lab under 200 lines, counted wrapped at 100 columns,
    with its nine step headers and the closing summary in it."""
    _, result = transcript
    lines = result.stdout.splitlines()
    wrapped = sum(max(1, -(-len(line) // 100)) for line in lines)
    assert wrapped < MAX_LINES, f"{wrapped} lines at 100 columns"
    headers = [line.split(" — ")[0] for line in lines if re.match(r"Step \d of 9 · ", line)]
    assert headers == [f"Step {n} of 9 · {title}" for n, title in enumerate(STEP_TITLES, 1)]
    summary = lines[next(i for i, line in enumerate(lines) if line.startswith("Summary")):]
    assert [line.split()[1] for line in summary if re.match(r"\d  +[A-Z]", line)] == \
        [title.split()[0] for title in STEP_TITLES]
    assert any(line.startswith("Endpoint: ") for line in summary)
    assert summary[-1].startswith("All steps done")


def _write_transcript(text: str) -> None:
    """Keep the transcript in the docs (asked for with LABWIZ_UPDATE_TRANSCRIPT=1)."""
    (ROOT / "docs" / "transcript.md").write_text(
        "# A whole sandbox lab, headless\n\n"
        "The real output of `labwiz --state-dir /tmp/lab run --sandbox --yes` in a pipe at 100 "
        "columns (written by `tests/tui/test_transcript.py` with `LABWIZ_UPDATE_TRANSCRIPT=1`; "
        "the temporary state directory is shown as `/tmp/lab`). On a terminal the same lines are "
        "printed, with progress bars and the monitoring picture redrawn in place below them.\n\n"
        f"```text\n{text.rstrip()}\n```\n", encoding="utf-8")


class CountingAsker:
    """The plain front-end's asker, answering every question with its default and counting."""

    def __init__(self, announce):
        """Wrap the real asker (not on a terminal: its click prompts)."""
        from wizard.plain.prompts import Asker

        self.questions: list[str] = []
        outer = self

        class _Asker(Asker):
            """Takes the default where the real one would read the terminal."""

            def choose(self, question, choices, default=None):
                outer.questions.append(question)
                return default if default in choices else choices[0]

            def confirm(self, question, default=False):
                outer.questions.append(question)
                return True  # accepting: cleanup's "delete these?" is answered yes

            def _checkbox(self, question, choices, default):
                outer.questions.append(question)
                return default

            def _secret(self, question):
                outer.questions.append(question)
                return ""

            def _text(self, question, default):
                outer.questions.append(question)
                return "" if default is None else default

        self.asker = _Asker(fancy=False, announce=announce)


def test_fresh_sandbox_lab_in_plain_mode_asks_at_most_8_questions(tmp_path, capsys):
    """Every default accepted: the learner decides at most eight times (today: the summary of
    what was found, and the cleanup confirmation)."""
    from rich.console import Console

    from wizard.headless import HeadlessReporter
    from wizard.registry import load_steps
    from wizard.session import run_headless

    import sys

    state = tmp_path / "state"
    steps = load_steps()
    # the asker's summary goes to stdout (click), so the reporter prints there too, in order
    reporter = HeadlessReporter(Console(file=sys.stdout, width=100, color_system=None),
                                steps=steps, state_dir=state)
    counter = CountingAsker(reporter.announce)
    obj = {"state_dir": state, "sandbox": True, "verbose": False}
    old = {k: os.environ.pop(k, None) for k in ("AWS_PROFILE", "AWS_REGION", "KUBECONFIG")}
    try:
        code = run_headless(obj, sandbox=True, region=None, yes=False, answers=None,
                            resume_command="labwiz run", prompter=counter.asker,
                            confirm=counter.asker.confirm, reporter=reporter)
    finally:
        for key, value in old.items():
            if value is not None:
                os.environ[key] = value
        run_labwiz(["--state-dir", str(state), "sandbox", "down"], timeout=120)
    text = capsys.readouterr().out
    assert code == 0, text[-3000:]
    assert 1 <= len(counter.questions) <= MAX_DECISIONS, counter.questions
    assert "This is what labwiz found" in text
    # the header of the step that asks comes before its question
    assert text.index("Step 1 of 9 · Credentials") < text.index("This is what labwiz found")
