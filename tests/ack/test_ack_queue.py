"""The controller's delay queue: due order, de-duplication, no lost events while busy."""

from __future__ import annotations

import threading

from wizard.sandbox.ack.controller import _DelayQueue


def test_due_order_and_dedup() -> None:
    """Keys come out when due, earliest first; re-adding keeps the earlier due time."""
    q, stop = _DelayQueue(), threading.Event()
    q.add(("TrainingJob", "ns", "b"), 0.05)
    q.add(("TrainingJob", "ns", "a"), 0.0)
    q.add(("TrainingJob", "ns", "b"), 5.0)  # later: ignored, b stays due at 0.05
    assert q.take(stop, timeout=1) == ("TrainingJob", "ns", "a")
    assert q.take(stop, timeout=1) == ("TrainingJob", "ns", "b")
    assert q.take(stop, timeout=0.1) is None


def test_sooner_add_supersedes_later() -> None:
    """A key queued for later and then for now comes out now, once."""
    q, stop = _DelayQueue(), threading.Event()
    key = ("Model", "ns", "m")
    q.add(key, 30.0)
    q.add(key, 0.0)
    assert q.take(stop, timeout=1) == key
    q.done(key, None)
    assert q.take(stop, timeout=0.1) is None


def test_event_while_busy_runs_again_after() -> None:
    """A change seen while a key is being worked on is not lost: the key runs again."""
    q, stop = _DelayQueue(), threading.Event()
    key = ("Endpoint", "ns", "e")
    q.add(key)
    assert q.take(stop, timeout=1) == key
    q.add(key)  # an event arrives mid-pass
    assert q.take(stop, timeout=0.1) is None  # never handed to a second worker meanwhile
    q.done(key, None)
    assert q.take(stop, timeout=1) == key


def test_stop_ends_take() -> None:
    """take() returns None at once when stopping."""
    q, stop = _DelayQueue(), threading.Event()
    stop.set()
    assert q.take(stop, timeout=5) is None
