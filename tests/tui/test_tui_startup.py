"""The TUI's start-up: what the first paint waits for, and what waits for it.

The main screen is the app's first screen; the footer's keys are drawn in the first frame, before
the tabs' contents are built; the garbage collector paused for start-up runs again afterwards,
also when the app cannot start. The footer follows the bindings, keeps Quit when narrow, and a
click on a key presses it.
"""

from __future__ import annotations

import gc

import pytest

from tui_helpers import click, wait_for
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
        seen.setdefault("keys", list(self.query_one(KeysFooter).shown))
        seen.setdefault("collector", gc.isenabled())
        await build(self)

    monkeypatch.setattr(MainScreen, "build_panes", watched)
    pause_gc()
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.settled)
        assert app.screen_stack[0] is app.main and isinstance(app.main, MainScreen)
        assert len(app.screen_stack) == 1  # no default screen under it
        assert seen == {"keys": app.main.query_one(KeysFooter).shown, "collector": True}
        assert seen["keys"][:4] == ["Run", "Retry", "Skip", "Quit"]
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


async def test_footer_follows_the_bindings(tui_env, monkeypatch):
    """A change of bindings is drawn: an action the app hides leaves the footer, one it disables
    is drawn dim and only rings the bell when clicked."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.settled)
        footer = app.main.query_one(KeysFooter)
        assert "Skip" in footer.shown and "Bundle" in footer.shown
        states = {"skip": False, "bundle": None}  # hidden; shown but disabled
        monkeypatch.setattr(type(app), "check_action",
                            lambda self, action, parameters: states.get(action, True),
                            raising=False)
        bells = []
        monkeypatch.setattr(app, "bell", lambda: bells.append(1))
        app.main.refresh_bindings()
        await wait_for(pilot, lambda: "Skip" not in footer.shown)
        bundle = next(key for key in footer.keys if key.key == "b")
        assert not bundle.enabled
        await click(pilot, KeysFooter, offset=(bundle.start + 1, 0))
        assert bells == [1] and len(app.screen_stack) == 1  # nothing opened


@pytest.mark.parametrize("width", [60, 70, 80, 120])
async def test_footer_keeps_quit_and_the_keys_order_when_narrow(tui_env, width):
    """However narrow the terminal the main screen works in, Quit stays on the footer; keys are
    dropped from the right, never from the middle, and none is cut."""
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(width, 24)) as pilot:
        await wait_for(pilot, lambda: app.main.settled)
        footer = app.main.query_one(KeysFooter)
        await pilot.pause()
        everything = ["Run", "Retry", "Skip", "Quit", "Reset", "Doctor", "Bundle", "Copy"]
        keys = [d for d in footer.shown if d != "palette"]
        assert "Quit" in keys
        assert keys == everything[:len(keys)]
        line = str(footer.render())
        assert len(line) <= width
        assert all(f"{description} " in line or line.endswith(description)
                   for description in footer.shown)
        if width >= 80:
            assert keys == everything and footer.shown[-1] == "palette"


async def test_clicking_a_footer_key_presses_it(tui_env):
    """A click on a footer key does what the key does (here Copy: the commands are written to
    a file)."""
    app = LabwizApp(tui_env["obj"], blink=False)
    pressed = []
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.settled)
        app.action_copy_commands = lambda: pressed.append("copy")
        footer = app.main.query_one(KeysFooter)
        copy = next(key for key in footer.keys if key.key == "c")
        await click(pilot, KeysFooter, offset=(copy.start + 1, 0))
        await wait_for(pilot, lambda: pressed)
        assert pressed == ["copy"]


def test_lesson_preview_reads_as_plain_text():
    """The first frame's lesson: soft-wrapped lines joined, bullets drawn as •, emphasis and
    code marks dropped, and no more than about the limit (whole paragraphs, the first always)."""
    from wizard.tui.model import lesson_preview

    source = ("Intro with **bold**, *emphasis* and `code`,\nwrapped in the source.\n\n"
              "* **First** item, wrapped\n  onto two lines.\n* Second item: 2 * 3 = 6.\n\n"
              "## A heading\n\n" + "Later paragraph. " * 20)
    preview = lesson_preview(source, limit=200)
    assert preview.splitlines() == [
        "Intro with bold, emphasis and code, wrapped in the source.", "",
        "• First item, wrapped onto two lines.", "• Second item: 2 * 3 = 6.", "",
        "A heading"]
    assert lesson_preview("x" * 500, limit=10) == "x" * 500


async def test_first_frame_shows_the_lesson_as_plain_text(tui_env, monkeypatch):
    """Before the Markdown view is built, the lesson shows as text without Markdown marks."""
    from rich.text import Text
    from textual.widgets import Static

    seen = []
    build = MainScreen.build_panes

    async def watched(self):
        """Note the lesson's text as the first frame showed it."""
        content = self.query_one("#lesson-text", Static).content
        seen.append(str(content.plain if isinstance(content, Text) else content))
        await build(self)

    monkeypatch.setattr(MainScreen, "build_panes", watched)
    app = LabwizApp(tui_env["obj"], blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.settled)
    assert seen and seen[0].strip()
    assert "**" not in seen[0] and "`" not in seen[0]
