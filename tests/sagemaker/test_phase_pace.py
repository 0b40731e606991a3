"""The sandbox SageMaker's phase pace (issue 18): every phase still lasts at least the pace, so
a learner sees Starting, Downloading, Training, Uploading; the phase's own work now runs during
the pace instead of after it. Driven on a fake clock, so load cannot change the answer."""

from __future__ import annotations

import io
import json

import pytest

from wizard.sandbox.compute import worker
from wizard.sandbox.manager import DEFAULT_SAGEMAKER_PACE


class Clock:
    """``time.monotonic`` and ``time.sleep`` of the worker module, on a fake clock."""

    def __init__(self, start: float = 100.0):
        """Start at ``start`` seconds."""
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        """The fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Move the fake time on, noting how long was slept."""
        self.slept.append(seconds)
        self.now += seconds

    def work(self, seconds: float) -> None:
        """Time passing while the job works."""
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    """The worker's clock, faked."""
    fake = Clock()
    monkeypatch.setattr(worker.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(worker.time, "sleep", fake.sleep)
    return fake


class _TimedOut(io.StringIO):
    """stdout that notes the fake time of every line."""

    def __init__(self, clock: Clock):
        """Write to memory, timed by ``clock``."""
        super().__init__()
        self.clock, self.times = clock, []

    def write(self, text: str) -> int:
        """Note the time, then write."""
        self.times.append(self.clock.now)
        return super().write(text)


def test_each_phase_lasts_at_least_the_pace_and_work_runs_during_it(clock):
    """Short work waits out the pace; long work is not paced on top."""
    out = _TimedOut(clock)
    emit = worker.Emitter(out, pace=0.3)
    emit.began_phase_at(clock.now)  # Starting began when the job was created
    clock.work(0.1)  # the worker's start
    emit.status("Downloading", "d")  # held until Starting had its 0.3 s
    clock.work(0.05)  # a quick download
    emit.status("Training", "t")  # held until Downloading had its 0.3 s
    clock.work(2.0)  # a long fit: no pace on top of it
    emit.status("Uploading", "u")
    clock.work(0.1)
    emit("done", result={})
    times = [t - 100.0 for t in out.times]
    kinds = [json.loads(line).get("secondary", json.loads(line)["event"])
             for line in out.getvalue().splitlines()]
    assert kinds == ["Downloading", "Training", "Uploading", "done"]
    assert times == pytest.approx([0.3, 0.6, 2.6, 2.9])
    # every phase (Starting, Downloading, Training, Uploading) lasted at least the pace
    assert all(b - a >= 0.3 - 1e-9 for a, b in zip([0.0] + times, times))


def test_metrics_are_not_held_and_failures_are(clock):
    """Metrics are no phase; a failure ends the phase it happened in no sooner than the pace."""
    out = _TimedOut(clock)
    emit = worker.Emitter(out, pace=0.3)
    emit.status("Downloading", "d")  # no phase began before it: not held
    emit("metrics", metrics=[])
    emit("failed", reason="ClientError: no channel")
    assert [t - 100.0 for t in out.times] == pytest.approx([0.0, 0.0, 0.3])


def test_no_pace_means_no_wait(clock):
    """A pace of 0 (LABWIZ_SAGEMAKER_DELAY=0) never sleeps."""
    emit = worker.Emitter(io.StringIO(), pace=0.0)
    emit.began_phase_at(clock.now)
    emit.status("Downloading", "d")
    emit.next_phase()
    emit("done", result={})
    assert clock.slept == []


def test_the_lab_pace_is_unchanged():
    """The pace a learner watches stays 0.3 s a phase; only its overlap with work changed."""
    assert DEFAULT_SAGEMAKER_PACE == 0.3
