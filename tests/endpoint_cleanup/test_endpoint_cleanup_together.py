"""Cleanup asks for every custom resource's deletion before waiting for any (issue 18).

A stand-in custom-objects API plays the cluster: a deleted object stays (its finalizer) until
the stand-in's controller has seen the deletion asked for, as ACK holds it until SageMaker's
side is gone. The ledger and the reporter are small recorders.
"""

from __future__ import annotations

from types import SimpleNamespace

from kubernetes.client.exceptions import ApiException

from wizard.cleanup.apply import apply_plan
from wizard.cleanup.common import GONE, REMOVED
from wizard.cleanup.plan import Item
from wizard.ledger import LABEL_KEY

LINEAGE = "lab-1"


class _Cluster:
    """Custom objects by (plural, name); a deletion completes two reads after it was asked."""

    def __init__(self, objects):
        """`objects` maps (plural, name) to a lineage label value (None: unlabelled)."""
        self.objects = {key: {"metadata": {"name": key[1], "labels": (
            {LABEL_KEY: lab} if lab else {})}} for key, lab in objects.items()}
        self.deleting: dict = {}
        self.calls: list = []

    def custom_objects(self):
        """The API the removers call."""
        return self

    def get_namespaced_custom_object(self, _group, _version, _ns, plural, name):
        """The object; a deleting one goes after being read twice (the controller's work)."""
        key = (plural, name)
        self.calls.append(("get", key))
        if key in self.deleting:
            self.deleting[key] -= 1
            if self.deleting[key] < 0:
                self.objects.pop(key, None)
                del self.deleting[key]
        if key not in self.objects:
            raise ApiException(status=404)
        return self.objects[key]

    def delete_namespaced_custom_object(self, _group, _version, _ns, plural, name):
        """Mark it deleting (the finalizer holds it a while)."""
        self.calls.append(("delete", (plural, name)))
        self.deleting[(plural, name)] = 1


class _Reporter:
    """Records commands and log lines."""

    def __init__(self):
        """Empty records."""
        self.commands, self.lines = [], []

    def progress(self, *_args):
        """Ignored."""

    def command(self, command):
        """Kept."""
        self.commands.append(command)

    def log(self, text, *_level):
        """Kept."""
        self.lines.append(text)


def _ctx(cluster):
    """A context on the stand-in cluster, with a ledger recording what is marked deleted."""
    marked = []
    ledger = SimpleNamespace(lineage=LINEAGE, mark_deleted=lambda *ref: marked.append(ref))
    return SimpleNamespace(clients=cluster, ledger=ledger, target=SimpleNamespace(is_sandbox=True),
                           marked=marked)


def _item(plural, name):
    """A custom-resource plan item."""
    return Item("custom-resource", f"{plural}/{name}", namespace="ns",
                details={"plural": plural, "cr_name": name},
                ledger=("custom-resource", f"{plural}/{name}"))


def test_every_deletion_is_asked_for_before_any_wait(monkeypatch):
    """All deletes come first; then each resource is waited for, marked and reported in order."""
    monkeypatch.setattr("wizard.cleanup.common.time.sleep", lambda _s: None)
    cluster = _Cluster({("endpoints", "ep"): LINEAGE, ("models", "m"): LINEAGE,
                        ("trainingjobs", "t"): None})
    ctx, reporter = _ctx(cluster), _Reporter()
    items = [_item("endpoints", "ep"), _item("models", "m"), _item("trainingjobs", "t"),
             _item("processingjobs", "gone-already")]
    removed, kept, failed = apply_plan(ctx, reporter, items)
    deletes = [n for n, call in enumerate(cluster.calls) if call[0] == "delete"]
    first_wait = next(n for n, call in enumerate(cluster.calls)
                      if call == ("get", ("endpoints", "ep")) and n > deletes[0])
    assert len(deletes) == 3 and max(deletes) < first_wait
    assert [(r["name"], r["result"]) for r in removed] == [
        ("endpoints/ep", REMOVED), ("models/m", REMOVED), ("trainingjobs/t", REMOVED),
        ("processingjobs/gone-already", GONE)]
    assert kept == failed == []
    assert ctx.marked == [i.ledger for i in items]
    assert cluster.objects == {}
    assert len(reporter.commands) == 4  # each deletion's kubectl command, shown once


def test_another_labs_resource_is_kept_and_the_rest_still_go(monkeypatch):
    """A resource labelled with another lineage is never deleted; it is kept with the reason."""
    monkeypatch.setattr("wizard.cleanup.common.time.sleep", lambda _s: None)
    cluster = _Cluster({("endpoints", "theirs"): "lab-2", ("models", "ours"): LINEAGE})
    ctx, reporter = _ctx(cluster), _Reporter()
    removed, kept, failed = apply_plan(ctx, reporter, [_item("endpoints", "theirs"),
                                                        _item("models", "ours")])
    assert ("delete", ("endpoints", "theirs")) not in cluster.calls
    assert [k["name"] for k in kept] == ["endpoints/theirs"]
    assert "another lab's lineage" in kept[0]["reason"]
    assert [r["name"] for r in removed] == ["models/ours"] and failed == []
    assert ctx.marked == [("custom-resource", "models/ours")]
