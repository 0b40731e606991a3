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
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    failure = status.get("failureReason") or ""
    if not failure:
        for cond in status.get("conditions") or []:
            if cond.get("type") in ("ACK.Terminal", "ACK.Recoverable") and \
                    cond.get("status") == "True":
                failure = cond.get("message") or ""
    return {"kind": kind, "name": obj["metadata"]["name"], "status": _status_word(kind, status),
            "secondary": status.get("secondaryStatus") or "", "failure": failure,
            "conditions": conditions,
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
