"""Applying a cleanup plan: each item removed in order, its ledger row marked, failures kept.

Custom resources are asked to go all at once first (their controller's waits then overlap);
each is still waited for, marked and reported in plan order.

An item whose removal fails or must not happen is *kept* with the reason; the others still go,
so one stubborn resource does not leave the rest billing.
"""

from __future__ import annotations

from wizard.cleanup import awsres, kfp, kube, sagemaker
from wizard.cleanup.common import GONE, Keep
from wizard.errors import LabwizError
from wizard.ledger import crash_point
from wizard.protocol import Context, Reporter


def _handlers(kind: str):
    """(remove, exists, command) for an item kind."""
    if kind.startswith("sagemaker-"):
        return sagemaker.remove, sagemaker.exists, sagemaker.command
    if kind.startswith("s3-"):
        return awsres.s3_remove, awsres.s3_exists, awsres.s3_command
    if kind == "iam-trust":
        return awsres.trust_remove, awsres.trust_exists, awsres.trust_command
    if kind.startswith("iam-"):
        return awsres.iam_remove, awsres.iam_exists, awsres.iam_command
    if kind.startswith("kfp-"):
        return kfp.remove, kfp.exists, kfp.command
    if kind == "custom-resource":
        return kube.cr_remove, kube.cr_exists, kube.cr_command
    if kind == "k8s-annotation":
        return kube.annotation_remove, kube.annotation_exists, kube.annotation_command
    if kind in ("k8s-secret", "k8s-role", "k8s-rolebinding"):
        return kube.simple_remove, kube.simple_exists, kube.simple_command
    return None


def item_command(item):
    """The equivalent command for removing ``item`` (None for a kind cleanup does not know)."""
    handlers = _handlers(item.kind)
    return handlers[2](item) if handlers else None


def apply_plan(ctx: Context, reporter: Reporter, items: list) -> tuple[list[dict], list[dict], list[dict]]:
    """Remove every item; return (removed, kept, failed) as dicts with ``result`` or ``reason``.

    *kept* are items deliberately left (another lab's, a bucket holding others' objects);
    *failed* are items whose removal went wrong: the step must not call itself done then.
    """
    removed, kept, failed = [], [], []
    begun = _begin_cr_deletes(ctx, reporter, items)
    for n, item in enumerate(items):
        reporter.progress("cleanup", n, len(items), "resources")
        handlers = _handlers(item.kind)
        if handlers is None:
            kept.append({**item.to_dict(), "reason": f"cleanup does not know how to remove {item.kind}"})
            reporter.log(f"Kept {item.kind} {item.name}: unknown kind; remove it by hand.", "warning")
            continue
        remove, _exists, command = handlers
        if item.key in begun:  # its deletion was asked for with the others': wait for it here
            remove = _finish_cr_delete(begun[item.key])
        else:
            reporter.command(command(item))
        try:
            result = remove(ctx, item)
        except Keep as why:
            kept.append({**item.to_dict(), "reason": str(why)})
            reporter.log(f"Kept {item.kind} {item.name}: {why}.", "warning")
            continue
        except LabwizError as exc:
            failed.append({**item.to_dict(), "reason": exc.message})
            reporter.log(f"Could not remove {item.kind} {item.name}: {exc.message}", "error")
            continue
        crash_point(f"cleanup:{item.kind}")  # tests: killed after the removal, before the mark
        if item.ledger:
            ctx.ledger.mark_deleted(*item.ledger)
        removed.append({**item.to_dict(), "result": result})
        word = {GONE: "Already gone:", "restored": "Put back as it was before the lab:"}.get(
            result, "Removed")
        reporter.log(f"{word} {item.kind} {item.name}.", "success" if result != GONE else "info")
    reporter.progress("cleanup", len(items), len(items), "resources")
    return removed, kept, failed


def _begin_cr_deletes(ctx: Context, reporter: Reporter, items: list) -> dict:
    """Ask for every custom resource's deletion at once; {item key: GONE, None or the error}.

    The ACK controller then deletes their SageMaker resources side by side, and the waits that
    follow (one per resource, in plan order) overlap instead of adding up. Each deletion still
    shows its command, is marked in the ledger only once the resource is gone, and is checked
    again afterwards by the sweep's list calls.
    """
    begun: dict = {}
    for item in items:
        if item.kind != "custom-resource":
            continue
        reporter.command(kube.cr_command(item))
        try:
            begun[item.key] = kube.cr_begin(ctx, item)
        except (Keep, LabwizError) as exc:
            begun[item.key] = exc
    return begun


def _finish_cr_delete(begun):
    """The remover for a custom resource whose deletion was already asked for."""
    def finish(ctx: Context, item) -> str:
        """Raise what asking raised, or report it gone, or wait for the controller."""
        if isinstance(begun, Exception):
            raise begun
        return begun or kube.cr_wait(ctx, item)
    return finish


def leftovers(ctx: Context, items: list) -> list:
    """The items that still exist (jobs: that still run), checked through the services' APIs."""
    left = []
    for item in items:
        handlers = _handlers(item.kind)
        if handlers and handlers[1](ctx, item):
            left.append(item)
    return left
