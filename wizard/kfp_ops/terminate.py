"""``labwiz terminate``: stop the lab's pipeline run and the SageMaker work it started.

Terminating a KFP run only stops its pods; the custom resources they created stay, and ACK keeps
the SageMaker jobs and endpoint going. So this also deletes the run's custom resources (found by
the run's naming scheme), which makes ACK stop or delete the SageMaker side, and then checks
SageMaker: a job still running once its resource is gone (an ACK ``deletion-policy: retain``, or
no controller) is stopped directly.

Kubeflow Pipelines is reached as the upload and run steps reach it
(:mod:`wizard.kfp_ops.connect`): ``--kfp-host``, else the host the upload step used, else the
target's (the sandbox's, ``KF_PIPELINES_ENDPOINT``), the in-cluster service, or a port-forward;
with ``--kfp-token`` / ``--kfp-cookie`` (or ``LABWIZ_KFP_TOKEN`` / ``LABWIZ_KFP_COOKIE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

#: KFP run states after which no task creates anything any more
RUN_ENDED = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")
#: the lab's roles whose SageMaker resource is a job, as cleanup's item kinds (cleanup knows how
#: to describe, stop and show each)
JOB_KINDS = {"proc": "sagemaker-processing-job", "hpo": "sagemaker-tuning-job",
             "train": "sagemaker-training-job", "bt": "sagemaker-transform-job"}


def _kfp_terminate_command(host: str, run_id: str, target):
    """The REST call that terminates a run (the kfp CLI has no terminate command)."""
    from wizard.protocol import cmd
    from wizard.secrets import Secret

    auth = []
    if target.kfp_token:
        auth = ["-H", Secret(f"Authorization: Bearer {target.kfp_token.reveal()}")]
    elif target.kfp_cookie:
        auth = ["--cookie", Secret(f"authservice_session={target.kfp_cookie.reveal()}")]
    return cmd("curl", "-X", "POST", *auth, f"{host}/apis/v2beta1/runs/{run_id}:terminate",
               note="the kfp CLI has no terminate; kfp.Client().terminate_run(run_id) does this")


def _job_statuses(ctx, run_id: str) -> dict[str, str]:
    """``{job name: SageMaker status}`` of the run's jobs that exist in SageMaker."""
    from assets.pipeline.naming import resource_names

    from wizard.cleanup import sagemaker as jobs
    from wizard.cleanup.plan import Item

    names = resource_names(run_id)
    out = {}
    for role, kind in JOB_KINDS.items():
        status = jobs.status(ctx, Item(kind, names[role]))
        if status is not None:
            out[names[role]] = status
    return out


def _resources_gone(custom, namespace: str, deleted: list[str], wait: float) -> list[str]:
    """Wait up to ``wait`` s for the deleted resources to disappear (ACK removes its finalizer
    once SageMaker has stopped or deleted the resource); the ones still present."""
    from wizard.cleanup.common import wait_until
    from wizard.kfp_ops.resources import GROUP, VERSION

    left = list(deleted)

    def all_gone() -> bool:
        """Drop the resources that are gone from ``left``; whether none is left."""
        still = []
        for item in left:
            plural, _, name = item.partition("/")
            try:
                custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
                still.append(item)
            except Exception as exc:  # noqa: BLE001
                if getattr(exc, "status", None) != 404:
                    raise
        left[:] = still
        return not left

    wait_until(all_gone, timeout=wait)
    return left


def terminate(ctx, reporter, run_id: str, namespace: str, *, given_host: str | None = None,
              finished_too: bool = False, wait: float = 60.0,
              on_run_ended: Callable[[str], None] | None = None) -> dict:
    """Terminate ``run_id`` (when still active), delete its custom resources, stop its jobs.

    ``ctx`` is a :class:`wizard.protocol.Context` (its target carries the KFP credentials);
    every action is shown on ``reporter`` with its equivalent command. A run that already ended
    keeps its resources (the endpoint is the lab's result; cleanup removes it) unless
    ``finished_too``.

    ``on_run_ended(state)`` is called as soon as KFP says the run has ended, before anything
    else is touched, so the caller can record it even if a later call fails.

    Returns ``{"run_id", "run_terminated", "run_state", "deleted": [plural/name],
    "left": [plural/name still present], "jobs": {name: status}, "stopped": [job names]}``.
    Kubernetes and AWS failures are raised as labwiz errors that say what to do.
    """
    from wizard.aws.errors import explain as explain_aws
    from wizard.errors import LabwizError
    from wizard.kfp_ops.connect import kfp_connection, translate

    with kfp_connection(ctx, reporter, given_host) as (client, host):
        try:
            run = client.get_run(run_id)
            terminated = False
            if str(run.state) not in RUN_ENDED + ("CANCELING",):
                reporter.command(_kfp_terminate_command(host, run_id, ctx.target))
                client.terminate_run(run_id)
                terminated = True
                reporter.log(f"Run {run_id}: termination requested.")
            active = terminated or str(run.state) == "CANCELING"
            if active:
                # a task still running could create a resource after the deletion below
                from wizard.cleanup.common import wait_until

                def ended() -> bool:
                    """Whether KFP says the run is over (``run`` keeps the latest answer)."""
                    nonlocal run
                    run = client.get_run(run_id)
                    return str(run.state) in RUN_ENDED

                wait_until(ended, timeout=wait)
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, f"terminating run {run_id}") from None
    result = {"run_id": run_id, "run_terminated": terminated, "run_state": str(run.state),
              "deleted": [], "left": [], "jobs": {}, "stopped": []}
    if on_run_ended is not None and result["run_state"] in RUN_ENDED:
        on_run_ended(result["run_state"])
    if not (active or finished_too):
        return result
    try:
        return _stop_resources(ctx, reporter, run_id, namespace, result, wait)
    except LabwizError:
        raise
    except Exception as exc:  # noqa: BLE001 - an API error: say what failed and what to do
        if hasattr(exc, "status") and not hasattr(exc, "response"):  # kubernetes ApiException
            from wizard import k8s

            raise k8s.explain(exc, f"stopping the resources of run {run_id}") from None
        raise explain_aws(exc, f"stopping the SageMaker jobs of run {run_id}") from None


def _stop_resources(ctx, reporter, run_id: str, namespace: str, result: dict,
                    wait: float) -> dict:
    """Delete the run's custom resources, wait for ACK, stop jobs left running; ``result``."""
    from assets.pipeline.naming import resource_names

    from wizard.cleanup import sagemaker as jobs
    from wizard.cleanup.common import REMOVED, Keep
    from wizard.cleanup.plan import Item
    from wizard.kfp_ops import resources as crs
    from wizard.protocol import cmd

    custom = ctx.clients.custom_objects()
    for kind, plural, obj in crs.fetch(custom, namespace, run_id):
        reporter.command(cmd("kubectl", "delete", "-n", namespace, plural, obj["metadata"]["name"],
                             "--wait=false", note="ACK stops (jobs) or deletes the SageMaker side"))
    result["deleted"] = crs.delete_all(custom, namespace, run_id)
    result["left"] = _resources_gone(custom, namespace, result["deleted"], wait)
    names = resource_names(run_id)
    statuses = _job_statuses(ctx, run_id)
    for role, kind in JOB_KINDS.items():
        job = Item(kind, names[role])
        if statuses.get(job.name) != "InProgress":
            continue
        # still running with its resource gone or stuck: stop it ourselves
        reporter.command(jobs.command(job))
        try:
            if jobs.remove(ctx, job, wait=wait) == REMOVED:
                result["stopped"].append(job.name)
        except Keep:
            result["stopped"].append(job.name)  # asked to stop; still Stopping after the wait
    result["jobs"] = _job_statuses(ctx, run_id)
    return result


def _lab_run(doc: dict) -> tuple[str | None, str | None]:
    """The latest run the lab started, and its namespace, from the ledger."""
    runs = [r for r in doc.get("ledger", []) if r.get("kind") == "kfp-run"]
    if not runs:
        return None, None
    return runs[-1]["name"], runs[-1].get("namespace")


def _record_state(state_dir: Path, run_id: str, state: str) -> bool:
    """Write the run's final state to its ledger row, so a resumed run-monitoring starts a new
    run instead of re-attaching; False when another labwiz holds the lab (it records it)."""
    from wizard.errors import LockHeld
    from wizard.lock import StateLock
    from wizard.state import StateStore

    try:
        with StateLock(state_dir, command="labwiz terminate"):
            store = StateStore(state_dir)
            doc = store.load()
            rows = [r for r in doc.get("ledger", []) if r.get("kind") == "kfp-run"
                    and r.get("name") == run_id]
            if not rows:
                return False
            for row in rows:
                row.setdefault("details", {})["state"] = state
            store.save(doc)
            return True
    except LockHeld:
        return False


@click.command("terminate")
@click.option("--run-id", help="The run to stop (default: the lab's latest run).")
@click.option("--namespace", help="Namespace of its custom resources (default: the lab's).")
@click.option("--delete-resources", is_flag=True,
              help="Delete the custom resources even when the run already finished.")
@click.option("--sandbox", "use_sandbox", is_flag=True, help="Work against the offline sandbox.")
@click.option("--region", help="AWS region (default: the lab's, or AWS_REGION).")
@click.option("--kfp-host", metavar="URL",
              help="Kubeflow Pipelines URL (default: the one the upload step used, the "
              "sandbox's, KF_PIPELINES_ENDPOINT, the in-cluster service, or a port-forward).")
@click.option("--kfp-token", envvar="LABWIZ_KFP_TOKEN", metavar="TOKEN",
              help="Bearer token for KFP (or LABWIZ_KFP_TOKEN).")
@click.option("--kfp-cookie", envvar="LABWIZ_KFP_COOKIE", metavar="COOKIE",
              help="authservice_session cookie for KFP (or LABWIZ_KFP_COOKIE).")
@click.option("--wait", "wait_s", type=click.FloatRange(0, 3600), default=60.0, show_default=True,
              help="Seconds to wait for the run to end and for ACK to stop the jobs.")
@click.pass_context
def terminate_cmd(ctx: click.Context, run_id, namespace, delete_resources, use_sandbox, region,
                  kfp_host, kfp_token, kfp_cookie, wait_s):
    """Stop the lab's pipeline run and delete its SageMaker custom resources."""
    from wizard import validate
    from wizard.errors import InputError
    from wizard.headless import HeadlessReporter
    from wizard.kfp_ops.connect import apply_credentials
    from wizard.protocol import Context
    from wizard.secrets import Secret
    from wizard.state import StateStore
    from wizard.target import resolve_target

    state_dir = Path(ctx.obj["state_dir"])
    doc = StateStore(state_dir).load() or {}
    known_run, known_ns = _lab_run(doc)
    run_id = run_id or known_run
    if not run_id:
        raise InputError("This lab has not started a pipeline run.",
                         remediation="Pass --run-id RUN_ID to stop another run.")
    recorded = doc.get("target") or {}
    sandbox = use_sandbox or ctx.obj.get("sandbox", False) or recorded.get("mode") == "sandbox"
    target = resolve_target(state_dir, sandbox=sandbox, region=region or recorded.get("region"))
    if kfp_host:
        kfp_host = validate.host_url(kfp_host, None)
    else:
        upload = (doc.get("steps", {}).get("upload") or {}).get("outputs") or {}
        # a port-forward's address died with it: kfp_connection opens a new one if needed
        kfp_host = None if upload.get("kfp_host_forwarded") else upload.get("kfp_host")
    namespace = namespace or known_ns or target.namespace or "kubeflow-user-example-com"
    reporter = HeadlessReporter()
    context = Context(state_dir=state_dir, doc=doc, ledger=None, target=target, inputs={},
                      confirm=lambda question: False, assume_yes=False, notify=reporter.log)
    how = apply_credentials(context, Secret(kfp_token) if kfp_token else None,
                            Secret(kfp_cookie) if kfp_cookie else None)
    reporter.log(f"Stopping run {run_id} ({how}; custom resources in {namespace}).")
    recorded_end: list[bool] = []

    def run_ended(state: str) -> None:
        """Record the run's end in the ledger at once: if stopping its resources fails below,
        a resumed run-monitoring still starts a new run instead of re-attaching to this one."""
        recorded_end.append(_record_state(state_dir, run_id, state))

    result = terminate(context, reporter, run_id, namespace, given_host=kfp_host,
                       finished_too=delete_resources, wait=wait_s, on_run_ended=run_ended)
    if not result["run_terminated"]:
        reporter.log(f"Run {run_id} had already ended ({result['run_state']}).")
    else:
        reporter.log(f"Run {run_id} is {result['run_state']}.", "success")
    if result["run_terminated"] and not result["deleted"]:
        # the generated components delete their resource when their task is stopped
        # (delete_on_termination), so a terminated run often leaves nothing for us to delete
        reporter.log(f"No custom resource of run {run_id} is left: its tasks deleted their own "
                     "as they were stopped.")
    for name in result["deleted"]:
        gone = name not in result["left"]
        reporter.log(f"deleted {name}" + ("" if gone else " (ACK is still stopping it)"),
                     "success" if gone else "warning")
    for name in result["stopped"]:
        reporter.log(f"stopped SageMaker job {name} directly (its custom resource was gone)")
    for name, status in result["jobs"].items():
        reporter.log(f"SageMaker job {name}: {status}")
    if not result["deleted"] and not (result["run_terminated"] or delete_resources):
        reporter.log("No custom resources deleted (a finished run keeps them: use "
                     "--delete-resources, or the cleanup step).")
    if any(recorded_end):
        reporter.log("The lab's ledger records the run as ended: 'labwiz reset --to "
                     "run-monitoring' and 'labwiz run' start a new one.")
