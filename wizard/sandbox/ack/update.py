"""What the controller does when a resource's spec no longer matches SageMaker, per kind.

Real ACK (runtime v0.62, ``updateResource``) compares the spec with what Describe returns after
every successful read, in any state of the resource, and calls the kind's ``sdkUpdate`` when
they differ. In sagemaker-controller v1.9.1:

* ProcessingJob, TransformJob, HyperParameterTuningJob, Model and EndpointConfig have no
  update: their generated ``sdkUpdate`` returns a terminal "not implemented" error, so any
  spec change ends in ``ACK.Terminal`` with that text;
* TrainingJob can only update its warm pool (``resourceConfig.keepAlivePeriodInSeconds``) or
  its profiler (``profilerConfig``, ``profilerRuleConfigurations``), one at a time; any other
  change is refused with a terminal "only Warm Pool or Profiler can be updated";
* Endpoint moves to another endpoint config (the reconciler's own path, not this module).

The comparison is the fields the spec sets, held against the same fields of the Describe
response (a field Describe does not return cannot differ, as in ACK, where the read copies
only what the response holds over the desired spec).
"""

from __future__ import annotations

from typing import Any

from wizard.sandbox.ack.convert import spec_to_request

#: the runtime's text for an update a kind does not have (pkg/errors NotImplemented)
NOT_IMPLEMENTED = "not implemented"
#: TrainingJob's refusals (pkg/resource/training_job sdk.go and hooks.go)
ONLY_WARM_POOL_OR_PROFILER = "only Warm Pool or Profiler can be updated"
NOT_BOTH = "cannot update Warm pool and Profiler at the same time"
NO_WARM_POOL = "warm pool does not exist and can only be configured at creation time"
WARM_POOL_NOT_COMPLETED = ("warm pool can only be updated if TrainingJob status is Completed. "
                           "Warm pool will be terminated automatically if trainingjob has not "
                           "completed successfully")
PROFILER_NOT_RUNNING = "profiler can only be updated when Training Job is in InProgress state"

#: the kinds whose v1.9.1 sdkUpdate is the terminal "not implemented"
NO_UPDATE = frozenset({"ProcessingJob", "TransformJob", "HyperParameterTuningJob", "Model",
                       "EndpointConfig"})
#: request members never compared: tags go through ACK's own tag sync, not sdkUpdate
_NOT_COMPARED = frozenset({"Tags"})
_PROFILER = ("ProfilerConfig", "ProfilerRuleConfigurations")


class UpdateRefused(Exception):
    """The controller refuses the spec change for good (ACK.Terminal with this message)."""


class Requeue(Exception):
    """Not now: look again later, without an error condition (ACK's requeue.NeededAfter)."""


def _differs(wanted: Any, seen: Any) -> bool:
    """Whether a spec value (API-shaped) differs from what Describe returned.

    Objects compare on the keys the spec sets (a key SageMaker does not return differs, as
    ACK's read rebuilds nested objects from the response alone); lists item by item and by
    length; numbers by value (``1`` equals ``1.0``).
    """
    if wanted is None:
        return False
    if isinstance(wanted, dict):
        if not isinstance(seen, dict):
            return bool(wanted)
        return any(_differs(v, seen.get(k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(seen, list) or len(wanted) != len(seen):
            return True
        return any(_differs(a, b) for a, b in zip(wanted, seen))
    if isinstance(wanted, (int, float)) and isinstance(seen, (int, float)) \
            and not isinstance(wanted, bool):
        return float(wanted) != float(seen)
    return wanted != seen


def changed_members(kind: str, spec: dict, described: dict) -> set[str]:
    """The top-level API members whose spec value differs from SageMaker's (Describe's)."""
    request = spec_to_request(kind, spec)
    return {member for member, value in request.items()
            if member not in _NOT_COMPARED and member in described
            and _differs(value, described[member])}


def _warm_pool_changed(request: dict, described: dict) -> bool:
    """Whether the spec's warm pool period differs from SageMaker's."""
    wanted = (request.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds")
    seen = (described.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds")
    return wanted != seen


def training_update(spec: dict, described: dict, changed: set[str]) -> dict:
    """The UpdateTrainingJob request for a changed TrainingJob, or UpdateRefused as ACK says.

    Mirrors v1.9.1's sdkUpdate and its isWarmPoolUpdatable/isProfilerUpdatable checks, with
    the job's state read from Describe. Where real ACK requeues without an error condition (a
    warm pool change while the job is InProgress, any change while its secondary status is
    Starting) this raises :class:`Requeue`.
    """
    request = spec_to_request("TrainingJob", spec)
    warm_pool = "ResourceConfig" in changed and _warm_pool_changed(request, described)
    profiler = any(m in changed for m in _PROFILER)
    if warm_pool and profiler:
        raise UpdateRefused(NOT_BOTH)
    if not warm_pool and not profiler:
        raise UpdateRefused(ONLY_WARM_POOL_OR_PROFILER)
    state = described.get("TrainingJobStatus")
    if described.get("SecondaryStatus") == "Starting":
        raise Requeue("training job cannot be updated while secondary status is in Starting "
                      "state.")
    name = described["TrainingJobName"]
    if warm_pool:
        if (described.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds") is None:
            raise UpdateRefused(NO_WARM_POOL)
        if state == "InProgress":
            raise Requeue("warm pool cannot be updated while TrainingJob status is InProgress, "
                          "requeuing until TrainingJob completes.")
        if state != "Completed":
            raise UpdateRefused(WARM_POOL_NOT_COMPLETED)
        return {"TrainingJobName": name, "ResourceConfig": {
            "KeepAlivePeriodInSeconds": request["ResourceConfig"]["KeepAlivePeriodInSeconds"]}}
    if state in ("Completed", "Failed", "Stopping", "Stopped"):
        raise UpdateRefused(PROFILER_NOT_RUNNING)
    out = {"TrainingJobName": name}
    out.update({m: request[m] for m in _PROFILER if m in request})
    return out

