"""The offline sandbox itself, when the lab runs against it."""

from __future__ import annotations

from wizard.doctor.context import DoctorContext
from wizard.doctor.model import Skip, check, fail, ok

#: what the check finds when the sandbox's daemon is down (the doctor then runs no other check)
NOT_RUNNING = "The sandbox is not running."
DOC_SANDBOX = "https://docs.aws.amazon.com/sagemaker/latest/dg/kubernetes-sagemaker-components-for-kubeflow-pipelines.html"


@check("sandbox", "Offline sandbox healthy", area="sandbox", doc_url=DOC_SANDBOX)
def sandbox(ctx: DoctorContext):
    """When the target is the sandbox, its daemon runs and every part is healthy."""
    if not ctx.target.is_sandbox:
        raise Skip("the lab targets real AWS, not the sandbox")
    from wizard.sandbox import manager

    report = manager.status(ctx.state_dir)
    if not report.get("running"):
        return fail(NOT_RUNNING, "Start it: labwiz sandbox up")
    if report.get("problems"):
        return fail("Sandbox parts are unhealthy: " + "; ".join(report["problems"][:4]) + ".",
                    "See 'labwiz sandbox status'; 'labwiz sandbox down' then 'labwiz sandbox "
                    "up' restarts it (its data is kept).")
    faults = report.get("faults") or []
    parts = ", ".join(sorted(report.get("services", {})))
    return ok(f"Daemon pid {report.get('pid')} healthy ({parts})"
              + (f"; faults set: {', '.join(faults)}" if faults else "") + ".")
