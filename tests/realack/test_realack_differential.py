"""The builtin controller held against the real ACK SageMaker controller, scenario by scenario.

Both run at once against one sandbox (see ``realack_harness``). Each scenario must end the
same way on both sides, or the difference must be one listed in :data:`KNOWN` with the reason
it is kept (docs/sandbox-ack.md has the table); any other difference fails the test.
"""

from __future__ import annotations

import json
import re
import threading

import pytest

import realack_scenarios as sc
from realack_harness import Observation, differences

pytestmark = pytest.mark.timeout(900)

#: why a difference is kept (docs/sandbox-ack.md has the table). An entry that matches no
#: difference of its scenario in a run is reported as stale and fails the test, so the list
#: cannot outlive the differences it explains.
LATE_INIT = ("the real controller copies SageMaker's defaults into spec (generator.yaml "
             "late_initialize fields) and reports ACK.LateInitialized; the builtin one leaves "
             "spec as written and writes no such condition (a truthful condition needs the "
             "spec patch, per kind, which is not built)")
UNMANAGED = ("when AWS refuses the create, the real runtime removes its finalizer again "
             "(setResourceUnmanaged) and re-adds it before each retry; the builtin controller "
             "keeps it: it queues every watch event (real ACK filters with "
             "GenerationChangedPredicate), so dropping and re-adding it would loop on its own "
             "events, calling Create each time")
#: marks an entry whose difference a snapshot may miss: the real controller retries a refused
#: create within milliseconds at first (controller-runtime's rate limiter), so a look can fall
#: between its re-adding the finalizer and its removing it again. Such an entry is stale only
#: if no scenario of a full run matched it.
RACY = "racy"
_UNMANAGED = (r"finalizers: real \[\] / builtin \['finalizers", UNMANAGED, RACY)
KNOWN: dict[str, list[tuple[str, ...]]] = {
    # "*": checked against every scenario; stale only if no scenario of a full run matched it
    "*": [
        (r"condition ACK\.LateInitialized: real \('True', 'Late initialization successful'\) "
         r"/ builtin None", LATE_INIT),
    ],
    "validation_error": [_UNMANAGED],
    "bad_role": [_UNMANAGED],
    "limit_training": [_UNMANAGED],
    "limit_endpoint": [_UNMANAGED],
    "access_denied": [_UNMANAGED],
}
#: patterns of KNOWN["*"] and of RACY entries that matched something, over the module's scenarios
_MATCHED_ANYWHERE: set[str] = set()

#: what the real controller must show in each scenario (so that a sandbox that stops
#: reproducing it fails here, whatever the builtin side does): scenario -> checks
REAL_FACTS = {
    "chain": lambda o: o.resources["endpoint"]["status"] == "InService" and all(
        r.get("after_delete") in ("absent", "Completed") for r in o.resources.values()),
    "hosting_at_once": lambda o: o.resources["endpoint"]["status"] == "InService",
    "validation_error": lambda o: o.resources["train"]["conditions"]["ACK.Recoverable"][0]
    == "True",
    "bad_role": lambda o: o.resources["model"]["conditions"]["ACK.Recoverable"][1].startswith(
        "api error ValidationException: Could"),
    "delete_in_progress": lambda o: o.resources["proc"]["after_delete"] == "Stopped",
    "endpoint_update": lambda o: o.calls["endpoint"] == ["CreateEndpoint", "UpdateEndpoint",
                                                         "DeleteEndpoint"],
    "spec_change_completed": lambda o: o.resources["train"]["conditions"]["ACK.Terminal"][0]
    == "True",
    "tuning": lambda o: o.resources["hpo"]["status"] == "Completed" and o.resources["hpo"][
        "best_job"],
    "transform": lambda o: o.resources["job"]["status"] == "Completed"
    and o.resources["model"]["after_delete"] == "absent",
    "limit_training": lambda o: o.resources["train"]["conditions"]["ACK.Recoverable"][1]
    .startswith("ResourceLimitExceeded:"),
    "limit_endpoint": lambda o: o.resources["endpoint"]["conditions"]["ACK.Recoverable"][1]
    .startswith("ResourceLimitExceeded:"),
    "access_denied": lambda o: o.resources["model"]["conditions"]["ACK.Recoverable"][0]
    == "True",
}

#: every scenario's outcome, for the table printed at the end of the module
RESULTS: dict[str, dict] = {}
_lock = threading.Lock()


def _record(duo, name: str, obs: dict[str, Observation]) -> list[str]:
    """Keep a scenario's observations (also in ``differential.json`` beside the sandbox's
    data); return the differences not accepted in KNOWN."""
    diffs = differences(obs)
    unexplained, stale = explain(name, diffs)
    unexplained += [f"stale KNOWN entry for {name}, matched nothing: {p}" for p in stale]
    try:
        real_ok = bool(REAL_FACTS[name](obs["real"]))
    except (KeyError, IndexError, TypeError) as exc:
        real_ok = False
        print(f"   real side lacks what {name} checks: {exc!r}")
    if not real_ok:
        unexplained.append(f"the real controller no longer shows what {name} expects of it")
    with _lock:
        RESULTS[name] = {"real": obs["real"].__dict__, "builtin": obs["builtin"].__dict__,
                         "differences": diffs, "unexplained": unexplained}
        (duo.root / "differential.json").write_text(json.dumps(RESULTS, indent=1,
                                                                default=str))
    print(f"\n== {name}: {len(diffs)} difference(s), {len(unexplained)} unexplained")
    for line in diffs:
        print(("   ! " if line in unexplained else "     ") + line)
    return unexplained


def explain(name: str, diffs: list[str]) -> tuple[list[str], list[str]]:
    """(differences no KNOWN entry accepts, the scenario's own KNOWN patterns that matched no
    difference); KNOWN["*"] patterns that match are remembered for :func:`stale_anywhere`."""
    own, common = KNOWN.get(name, []), KNOWN.get("*", [])
    unexplained = [d for d in diffs if not any(re.search(e[0], d) for e in own + common)]
    matched = {e[0] for e in own + common if any(re.search(e[0], d) for d in diffs)}
    stale = [e[0] for e in own if RACY not in e[2:] and e[0] not in matched]
    with _lock:
        _MATCHED_ANYWHERE.update(matched)
    return unexplained, stale


def stale_anywhere() -> list[str]:
    """KNOWN["*"] and RACY patterns no scenario matched (meaningful once every scenario ran)."""
    entries = KNOWN.get("*", []) + [e for v in KNOWN.values() for e in v if RACY in e[2:]]
    return sorted({e[0] for e in entries if e[0] not in _MATCHED_ANYWHERE})


def test_explain_reports_stale_entries(monkeypatch):
    """A scenario's KNOWN entry that matches none of its differences comes back as stale; a
    difference no entry accepts comes back as unexplained (no controller needed)."""
    monkeypatch.setitem(KNOWN, "demo", [(r"^a: kept", "why"), (r"^b: gone", "why")])
    unexplained, stale = explain("demo", ["a: kept here", "c: new"])
    assert unexplained == ["c: new"]
    assert stale == [r"^b: gone"]
    monkeypatch.setitem(KNOWN, "demo", [(r"^d: racy", "why", RACY)])
    assert explain("demo", []) == ([], [])  # a racy entry is judged over the whole run
    assert r"^d: racy" in stale_anywhere()


def test_dependency_waits_fold_but_a_create_that_never_worked_stays():
    """Resources applied together: a create refused because its dependency was not there yet,
    then made, reads as the create alone on either side; a refusal never followed by success
    is kept (no controller needed)."""
    fold = sc.fold_dependency_waits
    assert fold(["CreateEndpointConfig!", "CreateEndpointConfig", "DeleteEndpointConfig"]) == \
        fold(["CreateEndpointConfig", "DeleteEndpointConfig"]) == \
        ["CreateEndpointConfig", "DeleteEndpointConfig"]
    assert fold(["CreateEndpoint!", "DeleteEndpoint"]) == ["CreateEndpoint!", "DeleteEndpoint"]
    assert fold(["DeleteModel!", "DeleteModel"]) == ["DeleteModel!", "DeleteModel"]


def _run_phase(duo, scenario_fns) -> dict[str, list[str]]:
    """Run several scenarios at once (each on both sides at once)."""
    out: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def one(fn):
        try:
            out[fn.__name__] = _record(duo, fn.__name__, duo.run_both(fn))
        except BaseException as exc:  # noqa: BLE001 - reported after the others finish
            errors.append(exc)
    threads = [threading.Thread(target=one, args=(fn,)) for fn in scenario_fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


def _cleanup(duo, items: list[tuple[str, str]]) -> None:
    """After a fault scenario: delete what it left, on both sides, and wait until gone."""
    for side in duo.sides.values():
        for scenario, (kind, logical) in items:
            name = side.sm_name(scenario, logical)
            if side.get(kind, name) is not None:
                side.delete(kind, name)
    for side in duo.sides.values():
        for scenario, (kind, logical) in items:
            side.wait_gone(kind, side.sm_name(scenario, logical))


@pytest.fixture(scope="module")
def seeded(duo):
    """The sandbox with the scenarios' data and a trained seed model (made once per module,
    whichever test asks first, so any test of the file can run alone)."""
    sc.setup_data(duo)
    return duo


def test_real_controller_started(duo):
    """The real controller answers its health endpoint."""
    assert duo.real.healthy()
    print(f"\nreal controller healthy {duo.real_start_seconds:.2f} s after its start")


def test_scenarios_without_faults(seeded):
    """The chain, hosting at once, a validation error, a bad role, delete while running, an
    endpoint update, a spec change on a completed job, a tuning job and a transform job."""
    duo = seeded
    unexplained = _run_phase(duo, [sc.chain, sc.hosting_at_once, sc.validation_error,
                                   sc.bad_role, sc.delete_in_progress, sc.endpoint_update,
                                   sc.spec_change_completed, sc.tuning, sc.transform])
    assert not any(unexplained.values()), json.dumps(unexplained, indent=1)


def test_resource_limit_exceeded(seeded):
    """ResourceLimitExceeded on training and on the endpoint."""
    duo = seeded
    duo.set_faults("training=ResourceLimitExceeded", "endpoint=ResourceLimitExceeded")
    try:
        unexplained = _run_phase(duo, [sc.limit_training, sc.limit_endpoint])
    finally:
        duo.set_faults()
    _cleanup(duo, [("limittrain", ("TrainingJob", "train")),
                   ("limitep", ("Endpoint", "endpoint")),
                   ("limitep", ("EndpointConfig", "config")), ("limitep", ("Model", "model"))])
    assert not any(unexplained.values()), json.dumps(unexplained, indent=1)


def test_access_denied(seeded):
    """Every SageMaker write refused with AccessDeniedException."""
    duo = seeded
    duo.set_faults("sagemaker=AccessDenied")
    try:
        unexplained = _run_phase(duo, [sc.access_denied])
    finally:
        duo.set_faults()
    _cleanup(duo, [("denied", ("Model", "model"))])
    assert not any(unexplained.values()), json.dumps(unexplained, indent=1)


def _outcome(obs: dict) -> str:
    """One cell of the table: each resource's status and true conditions, and its fate."""
    cells = []
    short = {"ACK.ResourceSynced": "Synced", "ACK.Terminal": "Terminal",
             "ACK.Recoverable": "Recoverable", "ACK.LateInitialized": "LateInit"}
    for logical, facts in obs["resources"].items():
        conds = facts.get("conditions") or {}
        shown = [f"{short.get(t, t)}={v[0]}" for t, v in conds.items() if t in short]
        text = f"{logical}: {facts.get('status') or ''} {' '.join(shown)}".replace("  ", " ")
        if "after_delete" in facts:
            text += f", deleted ({facts['after_delete']} in SageMaker)"
        cells.append(text.strip())
    return "; ".join(cells)


def test_table(duo):
    """Print the scenario x real x builtin table (markdown) and keep the JSON beside it."""
    assert RESULTS, "no scenario ran"
    if set(RESULTS) >= set(REAL_FACTS):  # a full run: a common entry nothing matched is stale
        assert not stale_anywhere(), f"stale KNOWN['*'] entries: {stale_anywhere()}"
    print(f"\nresults kept in {duo.root / 'differential.json'}\n")
    print("| scenario | real controller | builtin controller | differences (all kept, see "
          "below) |\n| --- | --- | --- | ---: |")
    for name, result in RESULTS.items():
        print(f"| {name} | {_outcome(result['real'])} | {_outcome(result['builtin'])} | "
              f"{len(result['differences'])} |")
