"""``--sandbox`` imports what the steps need while the daemon starts (issue 18), never when
the sandbox is already running, and is done importing before it returns."""

from __future__ import annotations

import threading

from wizard.sandbox import manager, prewarm


def test_a_new_sandbox_is_waited_for_while_the_steps_modules_import(monkeypatch, tmp_path):
    """The warm-up runs during ``up`` and has finished when ``ensure_running`` returns."""
    seen = {}

    def fake_up(state_dir, region=None, warm_runs=False):
        """Stand in for the daemon's start: note the warm-up thread running meanwhile."""
        seen["during"] = [t.name for t in threading.enumerate()]
        seen["warm_runs"] = warm_runs
        return "info"

    started = []
    real_start = prewarm.start
    monkeypatch.setattr(manager, "read_info", lambda state_dir: None)
    monkeypatch.setattr(manager, "up", fake_up)
    monkeypatch.setattr(prewarm, "start", lambda: started.append(real_start(("json",))) or
                        started[-1])
    assert manager.ensure_running(tmp_path) == "info"
    assert "labwiz-prewarm" in seen["during"] or not started[0].is_alive()
    assert not started[0].is_alive()  # joined before returning
    assert seen["warm_runs"] is True  # the lab is about to start a run: a worker waits for it


def test_a_running_sandbox_is_reused_without_a_warm_up(monkeypatch, tmp_path):
    """Nothing to overlap with: no thread, no imports."""

    class Info:
        """A running sandbox's info."""
        region = "eu-west-1"
        reused = False

    monkeypatch.setattr(manager, "read_info", lambda state_dir: Info())
    monkeypatch.setattr(prewarm, "start", lambda: (_ for _ in ()).throw(AssertionError("warmed")))
    assert manager.ensure_running(tmp_path).reused is True


def test_a_missing_module_is_left_to_the_step_that_needs_it():
    """The warm-up never fails: an absent module is skipped, the others are imported."""
    thread = prewarm.start(("labwiz_no_such_module", "json"))
    thread.join(30)
    assert not thread.is_alive()
