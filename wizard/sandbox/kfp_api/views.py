"""Rendering runs and their tasks in the v2beta1 JSON shape the SDK's models read.

``run_details.task_details`` follows ``V2beta1PipelineTaskDetail``. Parameter outputs have no
field there (KFP keeps them in ML Metadata), so each task also carries a ``sandbox`` object with
its parameter outputs, artifacts, inputs and log location; the SDK's models ignore unknown keys,
and the same data is served by ``GET /apis/v2beta1/sandbox/runs/{run_id}/tasks``.
"""

from __future__ import annotations

from typing import Any

FINAL = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")


def _status(code: int, message: str | None) -> dict | None:
    """A google.rpc.Status for an error message, or None."""
    if not message:
        return None
    return {"code": code, "message": message, "details": []}


def _task_history(task: dict) -> list[dict]:
    """A task's state history from its timestamps."""
    history = [{"update_time": task["create_time"], "state": "PENDING"}]
    if task.get("start_time"):
        history.append({"update_time": task["start_time"], "state": "RUNNING"})
    if task.get("end_time") and task.get("state") in FINAL:
        history.append({"update_time": task["end_time"], "state": task["state"]})
    return history


def task_views(run_id: str, tasks: dict[str, dict]) -> list[dict]:
    """``task_details`` entries for every task in a worker status document."""
    children: dict[str, list[dict]] = {}
    for key, task in tasks.items():
        if task.get("parent"):
            children.setdefault(task["parent"], []).append(
                {"task_id": task["task_id"], "pod_name": key.replace("/", "-")})
    result = []
    for key, task in tasks.items():
        view: dict[str, Any] = {
            "run_id": run_id, "task_id": task["task_id"],
            "display_name": task["display_name"], "create_time": task["create_time"],
            "state": task["state"], "state_history": _task_history(task),
            "pod_name": f"{key.replace('/', '-')}-{task['task_id'][:8]}",
            "inputs": {}, "outputs": {},
            "sandbox": {"task_key": key, "inputs": task.get("inputs") or {},
                        "parameters": task.get("parameters") or {},
                        "artifacts": task.get("artifacts") or {}, "log": task.get("log"),
                        "exit_code": task.get("exit_code")},
        }
        for field in ("start_time", "end_time"):
            if task.get(field):
                view[field] = task[field]
        if task.get("parent_task_id"):
            view["parent_task_id"] = task["parent_task_id"]
        if key in children:
            view["child_tasks"] = children[key]
        error = _status(2, task.get("error"))
        if error:
            view["error"] = error
        result.append(view)
    return result


def run_view(record: dict, status: dict, spec: Any) -> dict:
    """A run as the API returns it: the stored record merged with live worker progress."""
    view = {k: v for k, v in record.items() if v is not None}
    state = record["state"]
    if state not in FINAL and state != "CANCELING" and status.get("state"):
        state = status["state"]
        history = list(record.get("state_history") or [])
        if status.get("started_at"):
            history.append({"update_time": status["started_at"], "state": "RUNNING"})
        if state in FINAL and status.get("finished_at"):
            history.append({"update_time": status["finished_at"], "state": state})
            view["finished_at"] = status["finished_at"]
            if status.get("error"):
                view["error"] = status["error"]
        view["state_history"] = history
    view["state"] = state
    error = view.pop("error", None)
    if error:
        view["error"] = _status(2, error)
    if spec is not None:
        view["pipeline_spec"] = spec
    view["run_details"] = {"task_details": task_views(record["run_id"],
                                                      status.get("tasks") or {})}
    return view
