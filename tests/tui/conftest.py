"""Fixtures for the TUI tests: the test steps, a private state directory, and a pilot helper."""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def no_unexpected_interface_errors(request, monkeypatch):
    """Fail any test whose app met an error in its own handlers.

    The app turns such an error into a dialog (it never crashes), so Textual's pilot would not
    re-raise it and a test could pass with an error dialog on screen. Tests that provoke these
    errors on purpose are marked ``ui_errors_expected``.
    """
    from wizard.tui.app import LabwizApp

    apps: list = []
    original = LabwizApp.__init__

    def tracking_init(self, *args, **kwargs):
        """Build the app as usual and remember it for the check below."""
        original(self, *args, **kwargs)
        apps.append(self)

    monkeypatch.setattr(LabwizApp, "__init__", tracking_init)
    yield
    if request.node.get_closest_marker("ui_errors_expected"):
        return
    troubled = [app for app in apps if app.unexpected]
    assert not troubled, (f"{sum(a.unexpected for a in troubled)} unexpected interface "
                          "error(s); see the test's log output for the traceback")
