"""Run the doctor's checks: fast ones first, slow ones last, each timed, none able to abort the rest.

This is the function the TUI calls (:func:`run_checks`) and the catalogue it lists
(:func:`list_checks`). Results are :class:`~wizard.doctor.model.CheckResult` rows.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from pathlib import Path
from typing import Callable

from wizard.doctor.checks.sandbox import NOT_RUNNING as SANDBOX_NOT_RUNNING
from wizard.doctor.model import Catalogue, CheckResult, CheckSpec, Skip
from wizard.target import Target

log = logging.getLogger("labwiz.doctor")

#: what each check looks at that the lab's cleanup removes (ledger kinds): after cleanup, its
#: absence is what cleanup did, not a failure
REMOVED_BY_CLEANUP = {
    "irsa-annotation": ("k8s-annotation",), "pipeline-rbac": ("k8s-role", "k8s-rolebinding"),
    "execution-role": ("iam-role",), "pod-role-trust": ("iam-role",),
    "aws-secret": ("k8s-secret", "iam-user", "iam-access-key"), "s3-lab-data": ("s3-object",),
    "run-pending": ("kfp-run",),
}
#: how a check's result starts when its subject is gone because cleanup removed it
REMOVED = "Removed by the lab's cleanup"
#: checks that read only local files (they run with the sandbox down)
LOCAL_CHECKS = ("kfp-v2-pipeline",)
#: the result of a check not run because the sandbox the lab targets is down
SANDBOX_DOWN = "Not checked: the sandbox is not running (see check 'sandbox')."

#: progress(name, done, total, result): called before each check (result None) and after it
Progress = Callable[[str, int, int, "CheckResult | None"], None]


def list_checks() -> list[dict]:
    """Every check in run order: name, title, area, slow, step, doc_url, summary."""
    return [spec.describe() for spec in Catalogue.load().specs]


def doctor_target(state_dir: Path, *, sandbox: bool = False, region: str | None = None) -> Target:
    """The target to examine: the sandbox when asked (started if needed), else what the state says.

    A lab that ran against the sandbox is examined there without starting it (a stopped sandbox
    is what the 'sandbox' check reports); otherwise real AWS from the standard environment.
    """
    from wizard.state import StateStore
    from wizard.target import aws_target, resolve_target, sandbox_target

    doc = StateStore(Path(state_dir)).load()
    recorded = doc.get("target") or {}
    if sandbox:
        target = resolve_target(Path(state_dir), sandbox=True, region=region)
    elif recorded.get("mode") == "sandbox":
        from wizard.sandbox import manager
        from wizard.target import _as_dict

        info = manager.read_info(Path(state_dir))
        target = sandbox_target(_as_dict(info)) if info else Target(
            mode="sandbox", region=region or recorded.get("region"))
    else:
        target = aws_target(region or recorded.get("region"))
        target.namespace = target.namespace or recorded.get("namespace")
        target.kfp_host = target.kfp_host or recorded.get("kfp_host")
    _add_kfp_credentials(target)
    return target


def _add_kfp_credentials(target: Target) -> None:
    """Give the target the KFP token or cookie it lacks: LABWIZ_KFP_TOKEN / LABWIZ_KFP_COOKIE,
    or, in the sandbox, the cluster admin's token that its KFP API accepts."""
    from wizard.secrets import Secret

    if target.kfp_token or target.kfp_cookie:
        return
    if os.environ.get("LABWIZ_KFP_TOKEN"):
        target.kfp_token = Secret(os.environ["LABWIZ_KFP_TOKEN"])
    elif os.environ.get("LABWIZ_KFP_COOKIE"):
        target.kfp_cookie = Secret(os.environ["LABWIZ_KFP_COOKIE"])
    elif target.is_sandbox:
        token = (target.sandbox or {}).get("kfp_token") or _kubeconfig_token(target.kubeconfig)
        if token:
            target.kfp_token = Secret(token)


def _kubeconfig_token(path: Path | None) -> str | None:
    """The bearer token of the current user in a kubeconfig (the sandbox's admin)."""
    if not path:
        return None
    try:
        import yaml

        config = yaml.safe_load(Path(path).read_text())
        current = next(c for c in config.get("contexts", [])
                       if c["name"] == config.get("current-context"))
        user = next(u for u in config.get("users", []) if u["name"] == current["context"]["user"])
        return (user.get("user") or {}).get("token")
    except (OSError, StopIteration, KeyError, TypeError, ValueError):
        return None


def _run_one(spec: CheckSpec, ctx) -> CheckResult:
    """Run one check; a crash becomes a failed result that says it is a doctor bug."""
    from wizard.secrets import redact

    started = time.monotonic()
    result = CheckResult(spec.name, spec.title, "skip", "", "", spec.doc_url, 0.0, spec.slow,
                         spec.area, spec.step)
    try:
        finding = spec.fn(ctx)
        result.status, result.found = finding.status, finding.found
        result.remediation = finding.remediation
        result.doc_url = finding.doc_url or spec.doc_url
    except Skip as why:
        result.status, result.found = "skip", f"Skipped: {why}."
    except Exception as exc:  # noqa: BLE001 - one broken check must not stop the doctor
        log.error("doctor check %s crashed:\n%s", spec.name, traceback.format_exc())
        result.status = "fail"
        result.found = f"The check itself crashed: {type(exc).__name__}: {exc}"[:400]
        result.remediation = ("This may be an unexpected answer from a service. Run the check "
                              f"alone ('labwiz doctor --check {spec.name}'); if it keeps "
                              "crashing, send 'labwiz bundle' to support.")
    removed = _removed_by_cleanup(spec.name, ctx, result.found) \
        if result.status in ("fail", "warn") else []
    if removed:
        # the check saw its subject missing (its own read), and the ledger says cleanup deleted
        # it: what the lab is meant to look like after cleanup
        result.status = "skip"
        result.found = (f"{REMOVED}: {', '.join(removed[:4])}"
                        + (f" and {len(removed) - 4} more" if len(removed) > 4 else "")
                        + f". Found now: {result.found}")
        result.remediation = "Nothing to do; to do the lab again: 'labwiz reset', then 'labwiz run'."
    elif spec.step and not ctx.step_done(spec.step) and result.status in ("fail", "warn"):
        # the lab has not set this up yet: say what is found, but it is not a failure yet
        result.found = (f"Not reached yet: the lab's '{spec.step}' step has not run, and it "
                        f"sets this up. Now: {result.found}")
        result.status, result.remediation = "skip", f"Run the lab up to '{spec.step}' first."
    result.found, result.remediation = redact(result.found), redact(result.remediation)
    result.duration_s = round(time.monotonic() - started, 3)
    return result


def _removed_by_cleanup(name: str, ctx, found: str = "") -> list[str]:
    """What the lab's finished cleanup deleted of what check ``name`` looks at (empty when the
    check looks at nothing cleanup removes, or cleanup has not run)."""
    kinds = REMOVED_BY_CLEANUP.get(name)
    if not kinds or not ctx.step_done("cleanup"):
        return []
    rows = [row for row in ctx.doc.get("ledger", [])
            if row.get("kind") in kinds and row.get("deleted_at")]
    # the ones the check's finding names (the execution role, not the pod role), else all
    named = [row for row in rows if str(row.get("name")) in found] or rows
    return [f"{row['kind']} {row['name']}" for row in named]


def _not_run(spec: CheckSpec, found: str) -> CheckResult:
    """The result of a check that was not run (``found`` says why)."""
    return CheckResult(spec.name, spec.title, "skip", found, "", spec.doc_url, 0.0, spec.slow,
                       spec.area, spec.step)


def run_checks(state_dir: Path, target: Target, names: list[str] | None = None,
               progress: Progress | None = None, *, pipeline_paths=()) -> list[CheckResult]:
    """Run the named checks (default all) against ``target``; results in run order.

    Slow checks run last. ``progress`` is told about each check before and after it runs.
    An unknown name raises :class:`wizard.errors.InputError` listing the known ones.
    """
    from wizard.doctor.context import DoctorContext
    from wizard.errors import InputError
    from wizard.state import StateStore

    catalogue = Catalogue.load()
    try:
        specs = catalogue.select(names)
    except KeyError as exc:
        raise InputError(f"No doctor check is called {exc.args[0]}.",
                         remediation="Known checks: " + ", ".join(catalogue.names()) +
                         " ('labwiz doctor --list-checks' describes them).") from None
    doc = StateStore(Path(state_dir)).load()
    ctx = DoctorContext(Path(state_dir), target, doc, pipeline_paths=pipeline_paths)
    results = []
    for index, spec in enumerate(specs):
        if progress:
            progress(spec.name, index, len(specs), None)
        down = any(r.name == "sandbox" and r.status == "fail" and r.found == SANDBOX_NOT_RUNNING
                   for r in results)
        # the sandbox the lab targets is down: said once by its check, the others are not run
        result = _not_run(spec, SANDBOX_DOWN) if down and spec.name not in LOCAL_CHECKS \
            else _run_one(spec, ctx)
        results.append(result)
        if progress:
            progress(spec.name, index + 1, len(specs), result)
    return results


def summarize(results: list[CheckResult]) -> dict[str, int]:
    """How many checks ended in each status."""
    counts = {"pass": 0, "warn": 0, "fail": 0, "skip": 0}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts
