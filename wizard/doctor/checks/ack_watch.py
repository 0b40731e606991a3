"""Whether some controller reconciles the lab's custom resources at all.

The generated components fail a task whose resource gets no status from any controller within
a bound (``controller_timeout_seconds``, 300 s by default); this is the same test from outside the
pipeline, so the doctor names the missing controller before (or after) a run waits on it. It
complements 'ack-controller', which looks for the Deployment: a controller can run and still
watch nothing of the lab's (another namespace, its CRDs replaced, a crash loop between reads).
"""

from __future__ import annotations

from wizard.doctor.context import ACK_NAMESPACE, DoctorContext
from wizard.doctor.lab import DOC_ACK_COND, ack_crds, age_s, custom_resources, ref
from wizard.doctor.model import Skip, check, fail, ok, warn

#: the components' default controller_timeout_seconds: older than this with no status = unwatched
CONTROLLER_GRACE_S = 300.0


@check("ack-reconciling", "A controller reconciles the custom resources", area="ack",
       doc_url=DOC_ACK_COND)
def ack_reconciling(ctx: DoctorContext):
    """Every lab custom resource older than 5 minutes has a status some controller wrote."""
    if not ack_crds(ctx):
        raise Skip("no ACK SageMaker CRDs are installed (see check 'ack-crds')")
    objects = custom_resources(ctx)
    if not objects:
        raise Skip(f"no SageMaker custom resources in {ctx.namespace or 'the cluster'} yet")
    unwatched, young = [], []
    for obj in objects:
        if obj.get("status"):
            continue
        age = age_s(obj["metadata"].get("creationTimestamp"))
        (unwatched if age is None or age >= CONTROLLER_GRACE_S else young).append(obj)
    check_it = (f"kubectl get deploy -n {ACK_NAMESPACE} (a ready ack-sagemaker-controller is "
                f"expected), then kubectl logs -n {ACK_NAMESPACE} deploy/<its name>")
    if unwatched:
        others = len(unwatched) - 1
        return fail(f"{ref(unwatched[0])} has no status after "
                    f"{CONTROLLER_GRACE_S / 60:.0f} minutes" + (f" (and {others} more)" if others
                                                                 else "")
                    + ": no ACK SageMaker controller is reconciling it, so SageMaker never gets "
                    "the request and a pipeline task waiting on it fails.",
                    f"Install or repair the ACK SageMaker controller; check it with: {check_it}.")
    if young:
        return warn(f"{ref(young[0])} has no status yet (created under 5 minutes ago).",
                    f"Usually a controller picks it up within seconds; if not, check: {check_it}.")
    return ok(f"All {len(objects)} custom resource(s) have a status from a controller.")
