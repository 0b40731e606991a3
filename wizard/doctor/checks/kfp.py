"""Kubeflow Pipelines: reachable, accepting your session, and the lab's run not stuck."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from wizard.doctor.context import CALL_TIMEOUT, DoctorContext
from wizard.doctor.lab import age_s
from wizard.doctor.model import Skip, check, fail, ok, warn

DOC_KFP_AUTH = ("https://www.kubeflow.org/docs/components/pipelines/user-guides/core-functions/"
                "connect-api/")
DOC_KFP_RUN = ("https://www.kubeflow.org/docs/components/pipelines/user-guides/core-functions/"
               "run-a-pipeline/")
#: a run still PENDING after this long is stuck (pods cannot be scheduled, or no controller)
PENDING_LIMIT_S = 300


def kfp_host(ctx: DoctorContext) -> str:
    """The KFP API's address, or Skip."""
    host = ctx.fact("kfp_host", "upload") or ctx.target.kfp_host
    if not host:
        raise Skip("no Kubeflow Pipelines address is known yet (KF_PIPELINES_ENDPOINT)")
    return host.rstrip("/")


def kfp_get(ctx: DoctorContext, path: str, auth: bool = True) -> tuple[int, dict | str]:
    """GET ``path`` on the KFP API as the target's kfp.Client would: (status, body)."""
    req = urllib.request.Request(kfp_host(ctx) + path, headers={"Accept": "application/json"})
    if auth:
        if ctx.target.kfp_token:
            req.add_header("Authorization", f"Bearer {ctx.target.kfp_token.reveal()}")
        if ctx.target.kfp_cookie:
            req.add_header("Cookie", f"authservice_session={ctx.target.kfp_cookie.reveal()}")
    try:
        with urllib.request.urlopen(req, timeout=CALL_TIMEOUT) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, body.decode("utf-8", "replace")[:200]


def _probe(ctx: DoctorContext) -> tuple[bool, str]:
    """Whether the KFP API answers its health check (cached): (ok, detail)."""
    if "kfp" not in ctx.cache:
        try:
            status, body = kfp_get(ctx, "/apis/v2beta1/healthz", auth=False)
            ctx.cache["kfp"] = (status < 500, f"HTTP {status}")
        except Skip:
            raise
        except OSError as exc:
            ctx.cache["kfp"] = (False, str(getattr(exc, "reason", exc)))
    return ctx.cache["kfp"]


@check("kfp-api", "Kubeflow Pipelines reachable", area="kfp", doc_url=DOC_KFP_AUTH)
def kfp_api(ctx: DoctorContext):
    """The KFP API answers at the lab's address."""
    up, detail = _probe(ctx)
    host = kfp_host(ctx)
    if up:
        return ok(f"{host} answers ({detail}).")
    return fail(f"Kubeflow Pipelines at {host} did not answer: {detail}.",
                "Check the address (kubectl get ingress -n istio-system gives the dashboard's; "
                "or port-forward: kubectl port-forward -n kubeflow svc/ml-pipeline-ui "
                "8080:80) and set KF_PIPELINES_ENDPOINT to it.")


@check("kfp-auth", "Kubeflow Pipelines accepts your session", area="kfp", doc_url=DOC_KFP_AUTH)
def kfp_auth(ctx: DoctorContext):
    """An authenticated KFP call (list experiments) is not refused with 401/403."""
    if not _probe(ctx)[0]:
        raise Skip("Kubeflow Pipelines is unreachable (see check 'kfp-api')")
    query = {"page_size": "1"}
    if ctx.namespace:
        query["namespace"] = ctx.namespace
    status, body = kfp_get(ctx, "/apis/v2beta1/experiments?" + urllib.parse.urlencode(query))
    sent = ("a bearer token" if ctx.target.kfp_token else
            "a session cookie" if ctx.target.kfp_cookie else "no credentials")
    if status in (401, 403):
        message = body.get("message") or body.get("error") if isinstance(body, dict) else body
        return fail(f"KFP refused the call with HTTP {status} (labwiz sent {sent}): "
                    f"{str(message)[:200]}",
                    "Sign in to the Kubeflow dashboard again and copy a fresh "
                    "'authservice_session' cookie (or a new token), then pass it to labwiz; an "
                    "expired or mistyped one is refused.")
    if status >= 400:
        return warn(f"KFP answered HTTP {status} to listing experiments.",
                    "Check the namespace (your Kubeflow profile) and the KFP version (v2 API).")
    return ok(f"KFP accepted {sent} (HTTP {status}).")


def _run_id(ctx: DoctorContext) -> str | None:
    """The lab's pipeline run: the run step's output, else the ledger's last run."""
    run_id = ctx.outputs("run-monitoring").get("run_id")
    if run_id:
        return run_id
    runs = ctx.ledger("kfp-run")
    return runs[-1].get("name") if runs else None


# gated on 'upload', not 'run-monitoring': a run stuck in PENDING is what keeps run-monitoring
# from ever finishing, so waiting for that step to be done would hide the very problem
@check("run-pending", "Pipeline run not stuck in Pending", area="kfp", doc_url=DOC_KFP_RUN,
       step="upload")
def run_pending(ctx: DoctorContext):
    """The lab's pipeline run left PENDING (its pods could be scheduled)."""
    run_id = _run_id(ctx)
    if not run_id:
        raise Skip("no pipeline run has been started yet")
    if not _probe(ctx)[0]:
        raise Skip("Kubeflow Pipelines is unreachable (see check 'kfp-api')")
    status, run = kfp_get(ctx, f"/apis/v2beta1/runs/{urllib.parse.quote(run_id)}")
    if status == 404:
        return fail(f"Run {run_id} no longer exists in KFP.",
                    "Start the pipeline again ('labwiz run --from upload').")
    if status >= 400 or not isinstance(run, dict):
        raise Skip(f"KFP answered HTTP {status} for run {run_id} (see check 'kfp-auth')")
    state = run.get("state") or "PENDING"
    age = age_s(run.get("created_at"))
    if state == "PENDING":
        minutes = f"{age / 60:.0f} minutes" if age is not None else "an unknown time"
        if age is None or age >= PENDING_LIMIT_S:
            return fail(f"Run {run_id} has been PENDING for {minutes}.",
                        f"Its pods cannot start: kubectl get pods -n {ctx.namespace} and "
                        "kubectl describe pod <pod> show why (no node capacity, an image pull "
                        "error, a missing secret or service account).")
        return warn(f"Run {run_id} is PENDING ({minutes} so far).",
                    "Give it a few minutes; if it stays PENDING see why with kubectl get pods.")
    if state in ("FAILED", "CANCELED"):
        error = (run.get("error") or {}).get("message", "")
        return warn(f"Run {run_id} ended {state}: {error[:200]}",
                    "See the failing task in the KFP UI and the other checks' findings.")
    return ok(f"Run {run_id} is {state}.")
