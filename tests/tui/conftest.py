"""Fixtures for the TUI tests: the test steps, a private state directory, and a pilot helper."""

from __future__ import annotations

from pathlib import Path

import pytest

STEPS = "tests.tui.tui_steps:STEPS"


@pytest.fixture
def tui_env(tmp_path, monkeypatch) -> dict:
    """Point labwiz at the TUI test steps and a fresh state; return the paths."""
    work = tmp_path / "work"
    monkeypatch.setenv("LABWIZ_STEPS", STEPS)
    monkeypatch.setenv("LABWIZ_TEST_WORKDIR", str(work))
    # the host's settings must not change what is drawn: colour switches, the terminal's own
    # size, and where labwiz would look for a lab
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "KUBECONFIG",
                 "KF_PIPELINES_ENDPOINT", "LABWIZ_STATE_DIR", "LABWIZ_ANSWERS", "NO_COLOR",
                 "FORCE_COLOR", "TEXTUAL", "TEXTUAL_THEME", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    return {"state_dir": tmp_path / "state", "work": work,
            "obj": {"state_dir": tmp_path / "state", "state_dir_given": True, "sandbox": False,
                    "plain": False, "verbose": False}}
