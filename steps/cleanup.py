"""Lab step 'cleanup': remove everything the lab created, so nothing keeps billing."""

from __future__ import annotations

from wizard import validate
from wizard.errors import StepDeclined, StepError
from wizard.protocol import Context, Reporter, Step, VerifyResult, cmd


def _not_created(ctx: Context) -> list[dict]:
    """The lab's notable resources the wizard did not create: shown as kept, never touched."""
    kept = []
    bucket = ctx.outputs_of("data-upload").get("bucket") or ctx.input("bucket")
    if bucket and not ctx.ledger.find("s3-bucket", bucket):
        kept.append({"kind": "s3-bucket", "name": bucket, "reason": "it existed before the lab"})
    role = ctx.outputs_of("credentials").get("execution_role_arn")
    if role and not ctx.ledger.find("iam-role", validate.role_name_of(role)):
        kept.append({"kind": "iam-role", "name": role, "reason": "the wizard did not create it"})
    for row in ctx.ledger.reused_entries():
        kept.append({"kind": row["kind"], "name": row["name"],
                     "reason": "it existed before the lab, which only used it"})
    return kept


def _plan_table(items: list) -> dict:
    """``show('table')`` data for the plan."""
    # named_later: each item's result is reported by name, so output nobody confirms from may
    # print the plan counted
    return {"title": f"Cleanup plan: {len(items)} resource(s) the lab created", "named_later": True,
            "columns": ["kind", "name", "namespace", "found from"],
            "rows": [[i.kind, i.name, i.namespace or "", i.source] for i in items]}


class CleanupStep(Step):
    """Remove everything the lab created, so nothing keeps billing."""

    id = "cleanup"
    finishes_lab = True
    title = "Cleanup"
    summary = "Remove everything the lab created, so nothing keeps billing."
    lesson = """An endpoint bills by the hour until it is deleted. Cleanup builds a plan from the wizard's ledger of what it
created, shows it, and after you confirm removes exactly that: never anything the wizard did not create."""
    creates = ()

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Plan from the ledger and the run, show it, confirm, remove, then count what is left."""
        # imported here, not at the top: the TUI loads every step before its first paint
        from wizard.cleanup import Item, apply_plan, build_plan, item_command, sweep
        from wizard.cleanup.reconcile import reconcile

        # an intent left by a crash is settled first: created (so it is planned) or not
        reconcile(ctx, reporter)
        items = build_plan(ctx, reporter)
        kept = _not_created(ctx)
        for note in kept:
            reporter.log(f"Keeping {note['kind']} {note['name']}: {note['reason']}.")
        if not items:
            reporter.log("Nothing the lab created is left to remove.", "success")
            return {"removed": [], "kept": kept}
        reporter.show("table", _plan_table(items))
        if not ctx.confirm(f"Delete these {len(items)} resource(s)? This cannot be undone."):
            if ctx.asks:  # the learner chose to keep them: a choice, not a failure
                billing = [i.name for i in items if i.kind == "sagemaker-endpoint"]
                raise StepDeclined(
                    f"Cleanup declined: nothing was deleted; the {len(items)} resource(s) the lab "
                    "created remain" + (f" (endpoint {', '.join(billing)} bills by the hour until "
                                        "it is deleted)" if billing else "") + ".",
                    remediation="Clean up later with 'labwiz run --only cleanup' (it shows the "
                    "plan again and asks).")
            raise StepError("Cleanup was not confirmed; nothing was deleted.",
                            remediation="Run 'labwiz run --only cleanup' again and confirm (or add "
                            "--yes), or delete the resources yourself with the commands shown.")
        removed, not_removed, failed = apply_plan(ctx, reporter, items)
        # proven through the services' list calls, not the removers' own reads
        namespace = ctx.outputs_of("credentials").get("namespace") or ctx.input("namespace")
        left = sweep.leftovers(ctx, [Item.from_dict(r) for r in removed], namespace)
        for item in left:
            reporter.log(f"Still there after cleanup: {item.kind} {item.name}.", "error")
            command = item_command(item)
            if command is not None:
                reporter.command(command)
        if failed:
            names = "; ".join(f"{f['kind']} {f['name']} ({f['reason']})" for f in failed)
            raise StepError(f"Cleanup could not remove {len(failed)} resource(s): {names}",
                            remediation="Fix the cause shown and run 'labwiz run --only cleanup' "
                            "again: what is already gone is skipped.")
        if left:
            names = ", ".join(f"{i.kind} {i.name}" for i in left)
            commands = "; ".join(c.shell() for c in map(item_command, left) if c is not None)
            raise StepError(f"After cleanup these still exist: {names}.",
                            remediation="Run 'labwiz run --only cleanup' again; if they stay, "
                            f"delete them by hand: {commands}")
        reporter.show("table", {"title": "Cleanup result", "columns": ["kind", "name", "result"],
                                "rows": [[r["kind"], r["name"], r["result"]] for r in removed]
                                + [[k["kind"], k["name"], f"kept: {k['reason']}"] for k in not_removed]})
        if not_removed:
            reporter.log(f"{len(not_removed)} resource(s) were kept; the table says why.", "warning")
        reporter.log(f"Removed {sum(r['result'] == 'removed' for r in removed)} resource(s); "
                     f"none of them exists any more.", "success")
        return {"removed": removed, "kept": kept + not_removed}

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """Nothing cleanup removed has come back, and no new ledger entry appeared since."""
        from wizard.cleanup import Item, leftovers

        back = leftovers(ctx, [Item.from_dict(r) for r in outputs.get("removed", [])])
        if back:
            return VerifyResult(False, f"{len(back)} removed resource(s) exist again "
                                f"({', '.join(i.name for i in back[:3])})")
        kept = {(k.get("kind"), k.get("name")) for k in outputs.get("kept", [])}
        live = [r for r in ctx.ledger.entries() if (r["kind"], r["name"]) not in kept]
        if live:
            return VerifyResult(False, f"the ledger records {len(live)} resource(s) created since")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """The removal command of every resource on record (the ledger and the run's outputs)."""
        from wizard.cleanup import build_plan, item_command

        items = build_plan(ctx, None, offline=True)
        out = [item_command(i) for i in items]
        out = [c for c in out if c is not None]
        return out or [cmd("aws", "sagemaker", "delete-endpoint", "--endpoint-name", "<endpoint>",
                           note="nothing on record yet; after the lab, each resource it created "
                           "is deleted like this"),
                       cmd("kubectl", "delete", "endpoints.sagemaker.services.k8s.aws", "<name>",
                           "-n", "<namespace>")]
