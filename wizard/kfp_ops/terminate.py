"""``labwiz terminate``: stop the lab's pipeline run and the SageMaker work it started.

Terminating a KFP run only stops its pods; the custom resources they created stay, and ACK keeps
the SageMaker jobs and endpoint going. So this also deletes the run's custom resources (found by
the run's naming scheme), which makes ACK stop or delete the SageMaker side.
"""

from __future__ import annotations

from pathlib import Path

import click


def terminate(target, run_id: str, namespace: str, *, finished_too: bool = False) -> dict:
    """Terminate ``run_id`` (when still active) and delete its custom resources.

    A run that already ended keeps its resources (the endpoint is the lab's result; cleanup
    removes it) unless ``finished_too``.

    Returns ``{"run_id", "run_terminated": bool, "deleted": [plural/name, ...]}``.
    """
    from wizard.clients import Clients
    from wizard.kfp_ops.connect import translate
    from wizard.kfp_ops.resources import delete_all

    clients = Clients(target)
    client = clients.kfp
    terminated = False
    try:
        run = client.get_run(run_id)
        if str(run.state) not in ("SUCCEEDED", "FAILED", "CANCELED", "CANCELING"):
            client.terminate_run(run_id)
            terminated = True
    except Exception as exc:  # noqa: BLE001
        raise translate(exc, f"terminating run {run_id}") from None
    active = terminated or str(run.state) == "CANCELING"
    deleted = (delete_all(clients.custom_objects(), namespace, run_id)
               if active or finished_too else [])
    return {"run_id": run_id, "run_terminated": terminated, "deleted": deleted}


def _lab_run(state_dir: Path) -> tuple[str | None, str | None]:
    """The latest run the lab started, and its namespace, from the ledger."""
    from wizard.state import StateStore

    doc = StateStore(state_dir).load() or {}
    runs = [r for r in doc.get("ledger", []) if r.get("kind") == "kfp-run"]
    if not runs:
        return None, None
    return runs[-1]["name"], runs[-1].get("namespace")


@click.command("terminate")
@click.option("--run-id", help="The run to stop (default: the lab's latest run).")
@click.option("--namespace", help="Namespace of its custom resources (default: the lab's).")
@click.option("--delete-resources", is_flag=True,
              help="Delete the custom resources even when the run already finished.")
@click.option("--sandbox", "use_sandbox", is_flag=True, help="Work against the offline sandbox.")
@click.pass_context
def terminate_cmd(ctx: click.Context, run_id, namespace, delete_resources, use_sandbox):
    """Stop the lab's pipeline run and delete its SageMaker custom resources."""
    from wizard.errors import InputError
    from wizard.target import resolve_target

    state_dir = Path(ctx.obj["state_dir"])
    known_run, known_ns = _lab_run(state_dir)
    run_id = run_id or known_run
    if not run_id:
        raise InputError("This lab has not started a pipeline run.",
                         remediation="Pass --run-id RUN_ID to stop another run.")
    target = resolve_target(state_dir, sandbox=use_sandbox or ctx.obj.get("sandbox", False))
    namespace = namespace or known_ns or target.namespace or "kubeflow-user-example-com"
    result = terminate(target, run_id, namespace, finished_too=delete_resources)
    click.echo(f"Run {run_id}: " + ("termination requested." if result["run_terminated"]
                                    else "already finished."))
    for name in result["deleted"]:
        click.echo(f"deleted {name} (ACK stops the SageMaker side)")
    if not result["deleted"]:
        click.echo("No custom resources deleted (a finished run keeps them: use "
                   "--delete-resources, or the cleanup step).")
