"""How the lab pipeline names the SageMaker resources of one run.

Every custom resource (and so every SageMaker job, model and endpoint) of a run is named
``mnist-<role>-<tag>``, where ``tag`` is the first 10 hex digits of the run's id (KFP's
``{{$.pipeline_job_uuid}}``, the run id). Monitoring and cleanup compute the same names from the
run id, so they find every resource of a run without listing anything else. The ``plan``
component of the pipeline repeats this logic in its own body (a component ships only its own
source); ``tests/pipeline`` checks that both agree.
"""

from __future__ import annotations

#: role -> (the ACK kind, its plural) of each resource the pipeline creates
ROLES: dict[str, tuple[str, str]] = {
    "proc": ("ProcessingJob", "processingjobs"),
    "hpo": ("HyperParameterTuningJob", "hyperparametertuningjobs"),
    "train": ("TrainingJob", "trainingjobs"),
    "model": ("Model", "models"),
    "epc": ("EndpointConfig", "endpointconfigs"),
    "ep": ("Endpoint", "endpoints"),
    "bt": ("TransformJob", "transformjobs"),
}


def run_tag(run_id: str) -> str:
    """The short, DNS- and SageMaker-safe tag of a run id (first 10 hex digits, lower case)."""
    tag = "".join(ch for ch in str(run_id).lower() if ch.isalnum())[:10]
    if not tag:
        raise ValueError(f"cannot derive a resource tag from run id {run_id!r}")
    return tag


def resource_names(run_id: str) -> dict[str, str]:
    """``{role: name}`` of every resource the run creates (see :data:`ROLES`)."""
    tag = run_tag(run_id)
    return {role: f"mnist-{role}-{tag}" for role in ROLES}
