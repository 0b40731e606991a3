"""Removing what the wizard created in Kubeflow Pipelines: runs, pipeline versions, pipelines and
experiments.

Ledger rows of kinds ``kfp-*`` carry the object's ID in ``details["id"]`` (else in ``arn``, else
the name is the ID); a version also needs ``details["pipeline_id"]``.
"""

from __future__ import annotations

from wizard.cleanup.common import GONE, REMOVED
from wizard.errors import StepError
from wizard.protocol import cmd


def _id(item) -> str:
    """The KFP ID of an item."""
    return item.details.get("id") or item.arn or item.name


def _status(exc) -> int | None:
    """The HTTP status of a KFP client error, if any."""
    return getattr(exc, "status", None)


def _call(ctx, item, verb: str):
    """Get (``verb`` 'get') or delete the object; None when KFP does not know it."""
    client = ctx.clients.kfp
    oid = _id(item)
    calls = {
        "kfp-run": (client.get_run, client.delete_run),
        "kfp-experiment": (client.get_experiment, client.delete_experiment),
        "kfp-pipeline": (client.get_pipeline, client.delete_pipeline),
    }
    try:
        if item.kind == "kfp-pipeline-version":
            pid = item.details.get("pipeline_id")
            if verb == "get":
                return client.get_pipeline_version(pid, oid)
            return client.delete_pipeline_version(pid, oid) or True
        get, delete = calls[item.kind]
        if item.kind == "kfp-experiment" and verb == "get":
            return get(experiment_id=oid)
        return (get if verb == "get" else delete)(oid) or True
    except Exception as exc:  # noqa: BLE001
        if _status(exc) == 404:
            return None
        raise StepError(f"Kubeflow Pipelines failed while handling {item.kind} {oid}: {exc}",
                        remediation="Check the KFP host and your session ('labwiz doctor'), then "
                        "run cleanup again.") from None


def exists(ctx, item) -> bool:
    """Whether KFP still knows the object."""
    return _call(ctx, item, "get") is not None


def remove(ctx, item) -> str:
    """Delete the object (a run that is still going is terminated first)."""
    if not exists(ctx, item):
        return GONE
    if item.kind == "kfp-pipeline":
        _delete_versions(ctx.clients.kfp, _id(item))  # KFP refuses to delete a pipeline with versions
    if item.kind == "kfp-run":
        try:
            ctx.clients.kfp.terminate_run(_id(item))
        except Exception:  # noqa: BLE001 - a finished run cannot be terminated; delete it anyway
            pass
    return GONE if _call(ctx, item, "delete") is None else REMOVED


def _delete_versions(client, pipeline_id: str) -> None:
    """Delete every version of one of the wizard's pipelines (the first one comes with the upload)."""
    for _round in range(50):  # always the first page: deleting shifts any later page token
        try:
            page = client.list_pipeline_versions(pipeline_id, page_size=100)
        except Exception as exc:  # noqa: BLE001
            if _status(exc) == 404:
                return
            raise StepError(f"Kubeflow Pipelines could not list the versions of {pipeline_id}: {exc}",
                            remediation="Check the KFP host and run cleanup again.") from None
        versions = page.pipeline_versions or []
        if not versions:
            return
        for version in versions:
            try:
                client.delete_pipeline_version(pipeline_id, version.pipeline_version_id)
            except Exception as exc:  # noqa: BLE001
                if _status(exc) != 404:
                    raise StepError(f"Kubeflow Pipelines could not delete version "
                                    f"{version.pipeline_version_id}: {exc}",
                                    remediation="Run cleanup again.") from None


def command(item):
    """The equivalent kfp CLI command."""
    oid = _id(item)
    if item.kind == "kfp-pipeline-version":
        return cmd("kfp", "pipeline", "delete-version", item.details.get("pipeline_id", "<pipeline-id>"), oid)
    noun = {"kfp-run": "run", "kfp-experiment": "experiment", "kfp-pipeline": "pipeline"}[item.kind]
    return cmd("kfp", noun, "delete", oid)
