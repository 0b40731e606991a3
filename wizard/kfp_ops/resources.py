"""The SageMaker custom resources of one run: find them by name, summarise, tail their logs.

A run's resources are named from its id (``assets/pipeline/naming.py``), so nothing needs
listing: each name is read directly, and a 404 means "not created yet".
"""

from __future__ import annotations

from assets.pipeline.naming import ROLES, resource_names

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
#: CloudWatch log group of each kind that writes logs (streams start with the job's name)
LOG_GROUPS = {"ProcessingJob": "/aws/sagemaker/ProcessingJobs",
              "TrainingJob": "/aws/sagemaker/TrainingJobs",
              "TransformJob": "/aws/sagemaker/TransformJobs",
              "Endpoint": "/aws/sagemaker/Endpoints"}
FINISHED = {"Completed", "InService", "Failed", "Stopped", "Synced", "Terminal"}


def _status_word(kind: str, status: dict) -> str:
    """The kind's own status enum, else the ACK sync state."""
    own = status.get(kind[0].lower() + kind[1:] + "Status")
    if own:
        return own
    for cond in status.get("conditions") or []:
        if cond.get("type") == "ACK.Terminal" and cond.get("status") == "True":
            return "Terminal"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "ACK.ResourceSynced":
            return "Synced" if cond.get("status") == "True" else "Syncing"
    return "Pending"


def summarise(kind: str, obj: dict) -> dict:
    """One row of ``reporter.show("resources", ...)`` for a custom resource."""
    status = obj.get("status") or {}
    # every ACK condition with its message: "ResourceSynced False" alone does not say why
    conditions = [{"type": c.get("type") or "", "status": c.get("status") or "",
                   "message": (c.get("message") or "").strip(), "reason": c.get("reason") or ""}
                  for c in status.get("conditions") or []]
    failure = status.get("failureReason") or ""
    if not failure:
        for cond in status.get("conditions") or []:
            if cond.get("type") in ("ACK.Terminal", "ACK.Recoverable") and \
                    cond.get("status") == "True":
                failure = cond.get("message") or ""
    return {"kind": kind, "name": obj["metadata"]["name"], "status": _status_word(kind, status),
            "secondary": status.get("secondaryStatus") or "", "failure": failure,
            "conditions": conditions,
            "created": obj["metadata"].get("creationTimestamp") or "",
            "arn": (status.get("ackResourceMetadata") or {}).get("arn") or ""}


def fetch(custom_objects, namespace: str, run_id: str) -> list[tuple[str, str, dict]]:
    """``(kind, plural, object)`` of each of the run's resources that exists now."""
    found = []
    for role, name in resource_names(run_id).items():
        kind, plural = ROLES[role]
        try:
            obj = custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural,
                                                              name)
        except Exception as exc:  # noqa: BLE001 - 404: not created yet
            if getattr(exc, "status", None) == 404:
                continue
            raise
        found.append((kind, plural, obj))
    return found


def log_tail(logs, kind: str, name: str, lines: int = 5) -> list[str]:
    """The last lines of the job's CloudWatch logs (empty when there are none yet)."""
    group = LOG_GROUPS.get(kind)
    if not group:
        return []
    try:
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name,
                                            limit=5).get("logStreams") or []
        if not streams:
            return []
        stream = max(streams, key=lambda s: s.get("lastEventTimestamp") or 0)["logStreamName"]
        events = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=lines,
                                     startFromHead=False).get("events") or []
    except Exception:  # noqa: BLE001 - logs are a nicety; a missing group is normal early on
        return []
    return [e.get("message", "").rstrip() for e in events][-lines:]


def tuning_children(sagemaker, logs, tuning_name: str, lines: int = 5,
                    most: int = 3) -> list[dict]:
    """The log tails of a tuning job's training jobs worth watching: each one running, and the
    best so far (or, when there is neither, the latest), at most ``most`` of them.

    A tuning job writes no logs of its own; its training jobs do, in the TrainingJobs group
    under their own names (``<tuning job>-<index>-<suffix>/algo-1-<epoch>``). Returns
    ``[{"name", "status", "best": bool, "objective", "log_tail": [lines]}]``.
    """
    try:
        best = (sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_name).get("BestTrainingJob") or {})
        jobs = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_name, MaxResults=100,
            SortBy="CreationTime", SortOrder="Descending").get("TrainingJobSummaries") or []
    except Exception:  # noqa: BLE001 - not created yet, or no permission: logs are a nicety
        return []
    best_name = best.get("TrainingJobName")
    picked = [j for j in jobs if j.get("TrainingJobStatus") in ("InProgress", "Stopping")]
    if best_name and best_name not in {j["TrainingJobName"] for j in picked}:
        picked.append(next((j for j in jobs if j["TrainingJobName"] == best_name), best))
    if not picked and jobs:
        picked = jobs[:1]
    out = []
    for job in picked[:most]:
        name = job["TrainingJobName"]
        metric = (job.get("FinalHyperParameterTuningJobObjectiveMetric") or {})
        out.append({"name": name, "status": job.get("TrainingJobStatus") or "",
                    "best": name == best_name, "objective": metric.get("Value"),
                    "log_tail": log_tail(logs, "TrainingJob", name, lines)})
    return out


def delete_all(custom_objects, namespace: str, run_id: str) -> list[str]:
    """Delete every custom resource of the run (ACK then stops the SageMaker work); names."""
    deleted = []
    for role, name in resource_names(run_id).items():
        _, plural = ROLES[role]
        try:
            custom_objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
            deleted.append(f"{plural}/{name}")
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "status", None) != 404:
                raise
    return deleted
