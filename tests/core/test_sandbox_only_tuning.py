"""Waits tuned for the sandbox stay sandbox-only: real AWS and clusters keep their intervals."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from wizard.cleanup.common import POLL_SECONDS, WAIT_SECONDS, poll_every
from wizard.kfp_ops.monitor import Follower
from wizard.sandbox.ack.controller import CONFLICT_RETRY_SECONDS, AckController


def _ctx(sandbox: bool) -> SimpleNamespace:
    """A context whose target is, or is not, the sandbox."""
    return SimpleNamespace(target=SimpleNamespace(is_sandbox=sandbox))


def test_cleanup_polls_faster_in_the_sandbox_only():
    """A deletion is looked at every 0.1 s in the sandbox, every 0.5 s for real, within the
    same 900 s bound."""
    assert poll_every(_ctx(True)) == 0.1
    assert poll_every(_ctx(False)) == POLL_SECONDS == 0.5
    assert poll_every(SimpleNamespace()) == 0.5  # no target known: the real-world interval
    assert WAIT_SECONDS == 900.0


def test_follower_backoff_for_real_runs_is_unchanged():
    """The sandbox follower looks at most 1 s apart; a real run's backoff is 2, 5, 10, 15 s."""
    assert max(Follower(None, None, None, "r", {}, "ns", fast=True).delays) == 1.0
    assert Follower(None, None, None, "r", {}, "ns", fast=False).delays == (2.0, 5.0, 10.0, 15.0)


def test_ack_retries_a_conflict_soon_and_other_failures_from_the_poll_interval():
    """A 409 is retried after 20 ms, doubling; any other failure after poll_seconds, doubling,
    both capped at max_backoff."""
    controller = AckController(Path("/nonexistent/kubeconfig"), "http://127.0.0.1:1", "eu-west-1",
                               "123456789012", poll_seconds=0.5, max_backoff=60.0)
    key = ("Model", "ns", "m")
    assert controller._backoff(key, CONFLICT_RETRY_SECONDS) == 0.02
    assert controller._backoff(key, CONFLICT_RETRY_SECONDS) == 0.04
    other = ("Model", "ns", "n")
    assert [controller._backoff(other) for _ in range(3)] == [0.5, 1.0, 2.0]
    assert max(controller._backoff(other) for _ in range(20)) == 60.0


def _run_ctx(sandbox: bool) -> SimpleNamespace:
    """Enough of a context for the run's parameters: the earlier steps' outputs and a ledger."""
    outputs = {"credentials": {"execution_role_arn": "arn:aws:iam::123456789012:role/r",
                               "region": "eu-west-1"},
               "data-upload": {"bucket": "b", "prefix": "lab1"}}
    return SimpleNamespace(target=SimpleNamespace(is_sandbox=sandbox, region="eu-west-1"),
                           outputs_of=lambda step: outputs.get(step, {}),
                           ledger=SimpleNamespace(lineage="lab-1"))


def test_components_poll_every_30_s_for_real_and_their_watch_is_bounded_by_it(monkeypatch):
    """A real run's components read their resource at least every 30 s, as before: the watch
    that may end a wait sooner (issue 18) asks the API server for at most the same interval,
    and a failed watch sleeps the interval out. Only the sandbox passes 1 s."""
    import inspect

    from steps.run_monitoring import run_parameters
    from wizard.generator import runtime

    assert run_parameters(_run_ctx(False))["poll_interval_seconds"] == 30
    assert run_parameters(_run_ctx(True))["poll_interval_seconds"] == 1
    assert "recoverable_timeout_seconds" not in run_parameters(_run_ctx(False))
    defaults = inspect.signature(runtime.run_component).parameters
    assert defaults["poll_interval_seconds"].default == 30
    assert defaults["timeout_seconds"].default == 86400
    asked = {}

    class _Refused:
        """The watch request, recorded, then refused."""

        def list_namespaced_custom_object(self, *args, **kwargs):
            """Record and fail, as an API server without watch permission would."""
            asked.update(kwargs)
            raise RuntimeError("forbidden")

    client = runtime.AckClient.__new__(runtime.AckClient)
    client.objects, client.group, client.version = _Refused(), "g", "v1"
    client.plural, client.namespace = "trainingjobs", "ns"
    slept = []
    monkeypatch.setattr(runtime.time, "sleep", slept.append)  # nothing else runs meanwhile
    assert client.wait_change("job", "7", 30) is False
    assert asked["timeout_seconds"] == 30 and 29 < slept[0] <= 30


class _Run:
    """A run as the follower sees it: a state, and nothing else to show."""

    def __init__(self, state):
        """``state`` is the run's state."""
        self.state = state


def _follow(fast: bool, states: list[str], monkeypatch) -> list[float]:
    """Follow a run whose tasks have all ended, reading ``states`` in turn; the sleeps made."""
    from wizard.kfp_ops import monitor

    follower = Follower(None, None, None, "r", {"a": [], "b": ["a"]}, "ns", fast=fast)
    follower.task_states = {"a": "SUCCEEDED", "b": "SKIPPED"}
    looks = iter(states)
    monkeypatch.setattr(follower, "poll", lambda: _Run(next(looks)))
    follower.reporter = SimpleNamespace(log=lambda *_a, **_k: None)
    slept: list[float] = []
    monkeypatch.setattr(monitor.time, "sleep", slept.append)
    follower.follow()
    return slept


def test_a_sandbox_run_whose_tasks_all_ended_is_looked_at_soon_a_real_one_is_not(monkeypatch):
    """Every task ended, the run not yet: the sandbox looks again after 0.1 s, at most ten
    times before its usual pace; a real run keeps its 2, 5, 10, 15 s backoff."""
    from wizard.kfp_ops.monitor import SETTLING_LOOKS

    assert _follow(True, ["RUNNING", "RUNNING", "SUCCEEDED"], monkeypatch) == [0.1, 0.1]
    long_wait = _follow(True, ["RUNNING"] * 13 + ["SUCCEEDED"], monkeypatch)
    assert long_wait == [0.1] * SETTLING_LOOKS + [1.0] * 3 and SETTLING_LOOKS == 10
    assert _follow(False, ["RUNNING", "RUNNING", "SUCCEEDED"], monkeypatch) == [2.0, 5.0]


def test_the_import_warm_up_runs_only_while_a_sandbox_starts(monkeypatch, tmp_path):
    """A real-AWS target never starts the warm-up thread (issue 18); the sandbox's does,
    while its daemon starts."""
    from wizard import target
    from wizard.sandbox import manager, prewarm

    def refuse(*_a, **_k):
        """Fail the test if the warm-up starts."""
        raise AssertionError("the warm-up started for a real target")

    monkeypatch.setattr(prewarm, "start", refuse)
    assert target.resolve_target(tmp_path, sandbox=False).mode == "aws"
    monkeypatch.setattr(manager, "read_info", lambda state_dir: None)
    monkeypatch.setattr(manager, "up", lambda state_dir, region=None, warm_runs=False: "started")
    started = []
    monkeypatch.setattr(prewarm, "start", lambda: started.append(SimpleNamespace(
        join=lambda: None)) or started[-1])
    assert manager.ensure_running(tmp_path) == "started" and len(started) == 1


def test_the_sagemaker_pace_is_a_sandbox_compute_floor():
    """The sandbox SageMaker's phases last at least 0.3 s (unchanged); the pace lives in the
    sandbox's compute worker only, which real SageMaker never runs."""
    from wizard.sandbox.compute.worker import Emitter
    from wizard.sandbox.manager import DEFAULT_SAGEMAKER_PACE

    assert DEFAULT_SAGEMAKER_PACE == 0.3
    assert Emitter(pace=DEFAULT_SAGEMAKER_PACE).pace == 0.3
