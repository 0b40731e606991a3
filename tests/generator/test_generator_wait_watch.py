"""The component's wait between reads: a watch on its one resource, bounded by the poll interval.

Against the sandbox's Kubernetes API server and the real kubernetes client, the test plays the
ACK controller. Whether the runtime slept is seen by replacing the runtime module's ``time``
(the watch itself blocks in a socket read, never in ``time.sleep``), so nothing here
depends on how fast the machine is.
"""
from __future__ import annotations

import pytest

from generator_helpers import Controller, start_kube, synced
from wizard.generator import runtime as rt

NS = "kubeflow-user-example-com"
GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
SYNCED_PLAN = {"status_field": None, "success": [], "failure": [], "reason_field": None}


@pytest.fixture(scope="module")
def kube(tmp_path_factory):
    """The sandbox's Kubernetes API server with the Model CRD."""
    server, _kubeconfig, api = start_kube(tmp_path_factory.mktemp("kube"), plurals=("models",))
    yield api
    server.stop()


@pytest.fixture
def sleeps(monkeypatch):
    """Every time.sleep the runtime makes, recorded instead of slept."""
    import time

    seen: list[float] = []

    class _Clock:
        """The time module as the runtime sees it, with sleep recorded (the server's and the
        playing controller's threads keep the real one)."""

        def __getattr__(self, name):
            """Everything but sleep from the time module."""
            return seen.append if name == "sleep" else getattr(time, name)

    monkeypatch.setattr(rt, "time", _Clock())
    return seen


def _model(api, name):
    """Create an ACK Model with no status (as a component has just made it)."""
    client = rt.AckClient(api, GROUP, VERSION, "models", NS)
    body = rt.build_resource(GROUP, VERSION, "Model", name, NS, {"modelName": name})
    return client, client.create(body)


def test_the_wait_ends_when_the_controller_writes_status_not_after_the_interval(kube, sleeps):
    """With a 30 s interval (the real clusters' default) the status written 0.1 s later ends
    the wait: no sleep at all, the watch returned on the change."""
    client, _created = _model(kube, "model-watched")
    ctl = Controller(kube, "models", NS, "model-watched", [synced("arn:model")], gap=0.1)
    final = rt.wait_for(client, "model-watched", SYNCED_PLAN, timeout_seconds=120,
                        poll_interval_seconds=30)
    ctl.join()
    assert rt.evaluate(final, SYNCED_PLAN)[0] == "done"
    assert sleeps == []


def test_a_change_made_between_the_read_and_the_watch_is_not_missed(kube, sleeps):
    """The watch resumes from the version the component read, so a status written in between
    is delivered at once rather than waited out."""
    client, created = _model(kube, "model-raced")
    objects = client.objects
    objects.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "models", "model-raced",
                                                  {"status": synced("arn:model")})
    assert client.wait_change("model-raced", created["metadata"]["resourceVersion"], 30) is True
    assert sleeps == []


def test_no_change_within_the_interval_returns_false_at_the_bound(kube, sleeps):
    """Nothing written: the watch ends at the interval (server side, 1 s) and reports no change."""
    client, created = _model(kube, "model-quiet")
    assert client.wait_change("model-quiet", created["metadata"]["resourceVersion"], 1) is False


class _Objects:
    """A CustomObjectsApi stand-in whose list (the watch) fails as given and records the call."""

    def __init__(self, error):
        """`error` is raised by every list call."""
        self.error, self.calls = error, []

    def list_namespaced_custom_object(self, *args, **kwargs):
        """Record the watch request, then fail."""
        self.calls.append((args, kwargs))
        raise self.error


def _client_with(objects):
    """An AckClient whose API calls go to `objects`."""
    client = rt.AckClient.__new__(rt.AckClient)
    client.objects = objects
    client.group, client.version, client.plural, client.namespace = GROUP, VERSION, "models", NS
    return client


def test_a_refused_watch_falls_back_to_sleeping_the_interval(sleeps):
    """No RBAC for watch (403) or any other failure: the old fixed sleep, whole interval."""
    from kubernetes.client.exceptions import ApiException

    objects = _Objects(ApiException(status=403, reason="Forbidden"))
    assert _client_with(objects).wait_change("m", "42", 30) is False
    assert len(sleeps) == 1 and 29.0 < sleeps[0] <= 30
    args, kwargs = objects.calls[0]
    # the request a real API server gets: this one object, from the version read, bounded by
    # the interval (whole seconds, as timeoutSeconds is)
    assert args == (GROUP, VERSION, NS, "models")
    assert kwargs["field_selector"] == "metadata.name=m"
    assert kwargs["resource_version"] == "42"
    assert kwargs["timeout_seconds"] == 30
    assert kwargs["watch"] is True


def test_without_a_resource_version_it_sleeps_instead_of_watching(sleeps):
    """A watch with no version starts by replaying the object, which is no news: sleep."""
    objects = _Objects(AssertionError("must not watch"))
    assert _client_with(objects).wait_change("m", None, 30) is False
    assert sleeps == [30] and objects.calls == []


def test_a_cancel_during_the_watch_is_not_swallowed(sleeps):
    """SIGTERM raises Terminated inside the blocked read; it must reach run_component."""
    with pytest.raises(rt.Terminated):
        _client_with(_Objects(rt.Terminated("signal 15"))).wait_change("m", "42", 30)
    assert sleeps == []
