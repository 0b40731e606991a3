"""What a learner decides in a whole sandbox lab: the plain front-end with every default
accepted makes at most eight decisions (a whole lab on a fresh sandbox of its own).

The headless transcript's checks read the whole lab that tests/e2e/test_whole_lab.py runs (one
lab for both).
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import run_labwiz

pytestmark = pytest.mark.slow

MAX_DECISIONS = 8


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
