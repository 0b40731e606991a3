"""Removing what the wizard created in Kubeflow Pipelines: runs, pipeline versions, pipelines and
experiments.

Each kind is looked up by the id KFP gave it, where the upload and run-monitoring steps record
it: a pipeline's in ``details["pipeline_id"]``, an experiment's in ``details["experiment_id"]``,
a version's and a run's as the row's name (``details["id"]`` wins when present). A 404 for that id
means the object is gone. A row without an id (an intent never confirmed) is first looked up by
its display name (:func:`find_by_name`); a display name is never passed where KFP expects an id.
"""

from __future__ import annotations

from wizard.cleanup.common import GONE, REMOVED
from wizard.errors import StepError
from wizard.protocol import cmd

#: where each kind keeps its id in a ledger row's details
_ID_KEYS = {"kfp-pipeline": "pipeline_id", "kfp-experiment": "experiment_id"}


def _id(item) -> str | None:
    """The KFP id of an item, or None when the row never learned it."""
    details = item.details or {}
    if details.get("id"):
        return details["id"]
    if item.kind in _ID_KEYS:
        return details.get(_ID_KEYS[item.kind])
    return item.name  # versions and runs are recorded under their ids


def _kfp_error(exc, doing: str) -> StepError:
    return StepError(f"Kubeflow Pipelines failed while {doing}: {exc}",
                     remediation="Check the KFP host and your session ('labwiz doctor'), then "
                     "run cleanup again.")


def find_by_name(ctx, row) -> dict | None:
    """The id of a KFP object the lab meant to create, looked up by the display name it was to
    have (and the lab's marks: the package hash in a pipeline's description, the lab's
    experiment description, the experiment a run belongs to); None when there is none.

    Returns the ledger updates: ``{"details": {...}}`` or ``{"name": id}``."""
    from wizard.kfp_ops.publish import EXPERIMENT_DESCRIPTION, _marker

    client = ctx.clients.kfp
    kind, name, details = row["kind"], row["name"], row.get("details") or {}
    try:
        if kind == "kfp-pipeline":
            pid = client.get_pipeline_id(name)
            if pid is None:
                return None
            described = client.get_pipeline(pid).description or ""
            if details.get("sha256") and _marker(details["sha256"]) not in described:
                return None  # someone else's pipeline of that name
            return {"details": {"pipeline_id": pid}}
        if kind == "kfp-pipeline-version":
            wanted = details.get("display_name") or name
            page = client.list_pipeline_versions(details["pipeline_id"], page_size=200)
            for version in page.pipeline_versions or []:
                if version.display_name == wanted or version.pipeline_version_id == name:
                    return {"name": version.pipeline_version_id,
                            "details": {"display_name": version.display_name}}
            return None
        if kind == "kfp-experiment":
            try:
                found = client.get_experiment(experiment_name=name,
                                              namespace=details.get("namespace") or row.get("namespace"))
            except ValueError:
                return None  # the SDK's "no experiment with that name"
            if (found.description or "") != EXPERIMENT_DESCRIPTION:
                return None
            return {"details": {"experiment_id": found.experiment_id}}
        if kind == "kfp-run":
            run_name = details.get("run_name") or name
            page = client.list_runs(experiment_id=details.get("experiment_id"), page_size=100,
                                    namespace=row.get("namespace"), sort_by="created_at desc")
            for run in page.runs or []:
                if run.display_name == run_name:
                    return {"name": run.run_id}
            return None
    except Exception as exc:  # noqa: BLE001
        if _status(exc) == 404:
            return None
        raise _kfp_error(exc, f"looking up {kind} {name}") from None
    return None


def _status(exc) -> int | None:
    """The HTTP status of a KFP client error, if any."""
    return getattr(exc, "status", None)


def _call(ctx, item, verb: str):
    """Get (``verb`` 'get') or delete the object by its id; None when KFP does not know it."""
    client = ctx.clients.kfp
    oid = _id(item)
    if oid is None:
        found = find_by_name(ctx, {"kind": item.kind, "name": item.name, "details": item.details,
                                   "namespace": item.namespace})
        if found is None:
            return None
        if "name" in found:
            item.name = found["name"]
        item.details.update(found.get("details") or {})
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
        raise _kfp_error(exc, f"handling {item.kind} {oid}") from None


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
    oid = _id(item) or f"<id of {item.name}>"
    if item.kind == "kfp-pipeline-version":
        return cmd("kfp", "pipeline", "delete-version", item.details.get("pipeline_id", "<pipeline-id>"), oid)
    noun = {"kfp-run": "run", "kfp-experiment": "experiment", "kfp-pipeline": "pipeline"}[item.kind]
    return cmd("kfp", noun, "delete", oid)
