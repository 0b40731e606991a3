"""The TUI's start-up: what the first paint waits for, and what waits for it.

The main screen is the app's first screen; the footer's keys are on the screen before the tabs'
contents are built; the garbage collector paused for start-up runs again afterwards, also when
the app cannot start; the footer rebuilds its keys once however many binding changes arrive
before it does.
"""

from __future__ import annotations

import gc

import pytest

from tui_helpers import wait_for
from wizard.frontend import pause_gc, resume_gc
from wizard.tui.app import LabwizApp, run_app
from wizard.tui.screens.main import MainScreen
from wizard.tui.widgets.footer import KeysFooter


@pytest.fixture(autouse=True)
def collector_back_on():
    """Whatever a test does, the collector is on after it (other tests rely on it)."""
    yield
    gc.enable()


async def test_first_screen_is_main_footer_keys_come_before_the_tabs_and_gc_resumes(tui_env,
                                                                                    monkeypatch):
    """The footer's keys exist when the tabs' contents start to be built, and the collector
    paused as the TUI starts is running once they are."""
    seen: dict = {}
    build = MainScreen.build_panes

    async def watched(self):
        """Note what exists when the tabs' contents start to be built."""
        seen.setdefault("keys", len(self.query("FooterKey")))
        seen.setdefault("collector", gc.isenabled())
        await build(self)

    monkeypatch.setattr(MainScreen, "build_panes", watched)
    pause_gc()
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.settled)
        assert app.screen_stack[0] is app.main and isinstance(app.main, MainScreen)
        assert len(app.screen_stack) == 1  # no default screen under it
        assert seen == {"keys": len(app.main.query("FooterKey")), "collector": True}
        assert seen["keys"] >= 4  # Run, Retry, Skip, Quit at least
        assert gc.isenabled()


def test_run_app_resumes_the_collector_when_the_app_cannot_start(tui_env):
    """A state file labwiz cannot read stops the app before it starts: the error is reported
    with its exit code, and the collector paused for start-up is running again."""
    state = tui_env["state_dir"]
    state.mkdir(parents=True)
    (state / "state.json").write_text("{ not json")
    pause_gc()
    code = run_app(tui_env["obj"])
    assert code != 0
    assert gc.isenabled()


def test_resume_gc_freezes_what_start_up_built():
    """Resuming moves the objects start-up built out of the collector's generations (they live
    as long as the app) and turns the collector on; resuming twice is harmless."""
    gc.unfreeze()
    pause_gc()
    kept = [object() for _ in range(1000)]
    resume_gc()
    assert gc.isenabled() and gc.get_freeze_count() >= len(kept)
    resume_gc()
    assert gc.isenabled()
    gc.unfreeze()


async def test_footer_rebuilds_its_keys_once_for_changes_that_arrive_together(tui_env,
                                                                              monkeypatch):
    """Three binding changes before the footer's next rebuild cause one rebuild, which shows
    the bindings as they are then; a change after it causes another."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.settled)
        footer = app.main.query_one(KeysFooter)
        rebuilds = []
        original = KeysFooter.recompose

        async def counted(self):
            """Count the rebuild."""
            rebuilds.append(1)
            await original(self)

        monkeypatch.setattr(KeysFooter, "recompose", counted)
        # as Textual does: the screen publishes each change, in its own context
        app.main.call_later(lambda: [app.main.refresh_bindings() for _ in range(3)])
        await wait_for(pilot, lambda: rebuilds and not footer._rebuild_waiting)
        await pilot.pause()
        assert len(rebuilds) == 1
        app.main.call_later(app.main.refresh_bindings)
        await wait_for(pilot, lambda: len(rebuilds) == 2 and not footer._rebuild_waiting)
        assert "Quit" in " ".join(str(key.description) for key in footer.query("FooterKey"))
