"""What goes into a support bundle, gathered part by part; a part that fails becomes a note.

Every part goes through the :class:`~wizard.bundle.redact.Redactor` before it is kept, so nothing
unredacted is ever held for writing. Services are reached with the doctor's quick clients, and a
service that did not answer is noted once and not asked again.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

from wizard.bundle.redact import Redactor, secret_values_to_lengths
from wizard.doctor.context import ACK_NAMESPACE, DoctorContext, short_error
from wizard.paths import EVENTS_FILE, LOG_FILE, STATE_FILE

#: how much of the log file a bundle keeps (its end)
LOG_TAIL_BYTES = 2_000_000
#: CloudWatch events kept per log stream, and streams per resource
LOG_EVENTS = 100
LOG_STREAMS = 4
PACKAGES = ("labwiz", "kfp", "kfp-pipeline-spec", "kfp-server-api", "kubernetes", "boto3",
            "botocore", "moto", "textual", "rich", "click", "PyYAML", "numpy", "scikit-learn",
            "urllib3", "requests")

#: SageMaker ARN resource type -> (describe operation, its name parameter, log group, prefix)
SAGEMAKER_TYPES = {
    "training-job": ("describe_training_job", "TrainingJobName", "/aws/sagemaker/TrainingJobs"),
    "processing-job": ("describe_processing_job", "ProcessingJobName",
                       "/aws/sagemaker/ProcessingJobs"),
    "hyper-parameter-tuning-job": ("describe_hyper_parameter_tuning_job",
                                   "HyperParameterTuningJobName", None),
    "transform-job": ("describe_transform_job", "TransformJobName",
                      "/aws/sagemaker/TransformJobs"),
    "model": ("describe_model", "ModelName", None),
    "endpoint-config": ("describe_endpoint_config", "EndpointConfigName", None),
    "endpoint": ("describe_endpoint", "EndpointName", "/aws/sagemaker/Endpoints/{name}"),
}
#: ledger kinds that name SageMaker resources, mapped to ARN resource types
LEDGER_TYPES = {"sagemaker-endpoint": "endpoint", "sagemaker-model": "model",
                "sagemaker-endpoint-config": "endpoint-config",
                "sagemaker-training-job": "training-job",
                "sagemaker-processing-job": "processing-job",
                "sagemaker-tuning-job": "hyper-parameter-tuning-job",
                "sagemaker-transform-job": "transform-job"}


class Collector:
    """Holds a bundle's files (already redacted) and the notes on what could not be collected."""

    def __init__(self, redactor: Redactor):
        """Keep what the instance needs (see the class docstring)."""
        self.redactor = redactor
        self.files: dict[str, bytes] = {}
        self.notes: list[dict] = []

    def add_json(self, name: str, obj: Any) -> None:
        """Keep ``obj`` as redacted, indented JSON."""
        clean = self.redactor.obj(obj, name)
        self.files[name] = (json.dumps(clean, indent=2, sort_keys=True, default=str) +
                            "\n").encode()

    def add_text(self, name: str, text: str) -> None:
        """Keep ``text`` redacted."""
        self.files[name] = self.redactor.text(text, name).encode()

    def note(self, what: str, why: str) -> None:
        """Record that ``what`` could not be collected, and why."""
        self.notes.append({"part": what, "why": self.redactor.text(why, "manifest.json")})

    def attempt(self, what: str, fn: Callable[[], None]) -> None:
        """Run one part's collection; an error becomes a note, never an aborted bundle."""
        from wizard.doctor.model import Skip

        try:
            fn()
        except Skip as why:
            self.note(what, str(why))
        except Exception as exc:  # noqa: BLE001 - a bundle collects what it can
            self.note(what, short_error(exc))


# -- local files ---------------------------------------------------------------------------------
def local_files(col: Collector, state_dir: Path) -> None:
    """The state document, the event log, the log file and the doctor's last results."""
    def state():
        """Keep state.json (as text when it is not JSON)."""
        raw = (state_dir / STATE_FILE).read_text(errors="replace")
        try:
            col.add_json("state.json", json.loads(raw))
        except ValueError:
            col.add_text("state.json.corrupted", raw)
            col.note("state.json", "the state file is not valid JSON; kept as text")

    def events():
        """Keep the event log or the cluster's events."""
        out = []
        for line in (state_dir / EVENTS_FILE).read_text(errors="replace").splitlines():
            try:  # structured first, so secret fields are caught by name
                event = col.redactor.obj(json.loads(line), "events.jsonl")
                out.append(json.dumps(event, sort_keys=True, default=str))
            except ValueError:
                out.append(col.redactor.text(line, "events.jsonl"))
        col.files["events.jsonl"] = ("\n".join(out) + "\n").encode()

    def log():
        """Keep the end of the log file."""
        path = state_dir / LOG_FILE
        size = path.stat().st_size
        with open(path, "rb") as fh:
            if size > LOG_TAIL_BYTES:
                fh.seek(size - LOG_TAIL_BYTES)
                fh.readline()  # start at a whole line
            col.add_text("labwiz.log", fh.read().decode("utf-8", "replace"))

    def last_doctor():
        """Keep the doctor's last saved results."""
        col.add_json("doctor-last.json", json.loads((state_dir / "doctor.json").read_text()))

    for name, fn in (("state.json", state), ("events.jsonl", events), ("labwiz.log", log),
                     ("doctor-last.json", last_doctor)):
        try:
            fn()
        except FileNotFoundError:
            col.note(name, "not present in the state directory")
        except Exception as exc:  # noqa: BLE001
            col.note(name, short_error(exc))


def versions() -> dict:
    """labwiz, Python, the key packages and the terminal."""
    from importlib import metadata

    from wizard import __version__

    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    size = shutil.get_terminal_size(fallback=(0, 0))
    return {
        "labwiz": __version__,
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "packages": packages,
        "terminal": {"TERM": os.environ.get("TERM"), "COLORTERM": os.environ.get("COLORTERM"),
                     "columns": size.columns, "lines": size.lines,
                     "stdout_is_tty": sys.stdout.isatty(), "LANG": os.environ.get("LANG"),
                     "NO_COLOR": os.environ.get("NO_COLOR"),
                     "TERM_PROGRAM": os.environ.get("TERM_PROGRAM")},
    }


# -- the cluster ----------------------------------------------------------------------------------
def kubernetes_parts(col: Collector, ctx: DoctorContext) -> None:
    """The lab's custom resources, events, secrets (lengths only) and service account."""
    up, detail = ctx.kube_probe()
    if not up:
        col.note("kubernetes/*", f"the Kubernetes API did not answer: {detail}")
        return
    from wizard.doctor.lab import custom_resources

    api = ctx.clients.kube
    namespace = ctx.namespace

    def crs():
        """Keep the lab's custom resources (without managed fields)."""
        objects = custom_resources(ctx)
        for obj in objects:
            (obj.get("metadata") or {}).pop("managedFields", None)
        col.add_json("kubernetes/custom-resources.json", objects)

    def events():
        """Keep the event log or the cluster's events."""
        core = ctx.core()
        out = {}
        for ns in [n for n in (namespace, ACK_NAMESPACE) if n]:
            items = core.list_namespaced_event(ns, _request_timeout=6).items
            out[ns] = [api.sanitize_for_serialization(e) for e in items]
        col.add_json("kubernetes/events.json", out)

    def secrets():
        """Keep the namespace's Secrets with values replaced by their lengths."""
        if not namespace:
            return
        items = ctx.core().list_namespaced_secret(namespace, _request_timeout=6).items
        col.add_json("kubernetes/secrets.json",
                     [secret_values_to_lengths(api.sanitize_for_serialization(s))
                      for s in items])

    def identity():
        """Keep the pipeline's service account and the ACK controller's deployment."""
        core = ctx.core()
        out = {}
        if namespace:
            sa = core.read_namespaced_service_account(ctx.service_account, namespace,
                                                      _request_timeout=6)
            out["pipeline_service_account"] = api.sanitize_for_serialization(sa)
        deployments = ctx.clients.apps_v1().list_namespaced_deployment(
            ACK_NAMESPACE, _request_timeout=6).items
        out["ack_deployments"] = [{"name": d.metadata.name,
                                   "replicas": d.spec.replicas,
                                   "status": api.sanitize_for_serialization(d.status)}
                                  for d in deployments]
        col.add_json("kubernetes/identity.json", out)

    for what, fn in (("kubernetes/custom-resources.json", crs),
                     ("kubernetes/events.json", events),
                     ("kubernetes/secrets.json", secrets),
                     ("kubernetes/identity.json", identity)):
        col.attempt(what, fn)


# -- Kubeflow Pipelines ---------------------------------------------------------------------------
def kfp_parts(col: Collector, ctx: DoctorContext) -> None:
    """The lab's run, as the KFP API describes it."""
    from wizard.doctor.checks.kfp import _probe, _run_id, kfp_get

    run_id = _run_id(ctx)
    if not run_id:
        col.note("kfp/run.json", "the lab has not started a pipeline run")
        return

    def run():
        """Keep the lab's run as KFP describes it."""
        up, detail = _probe(ctx)
        if not up:
            raise RuntimeError(f"Kubeflow Pipelines did not answer: {detail}")
        status, body = kfp_get(ctx, f"/apis/v2beta1/runs/{run_id}")
        col.add_json("kfp/run.json", {"http_status": status, "run": body})

    col.attempt("kfp/run.json", run)


# -- SageMaker ----------------------------------------------------------------------------------
def sagemaker_names(ctx: DoctorContext) -> dict[tuple[str, str], None]:
    """(ARN resource type, name) of each SageMaker resource the lab made or refers to."""
    names: dict[tuple[str, str], None] = {}
    for row in ctx.ledger(live_only=False):
        kind = LEDGER_TYPES.get(row.get("kind", ""))
        if kind and row.get("name"):
            names[(kind, row["name"])] = None
        arn = row.get("arn") or ""
        if arn.startswith("arn:aws:sagemaker:"):
            rtype, _, name = arn.split(":", 5)[5].partition("/")
            if rtype in SAGEMAKER_TYPES:
                names[(rtype, name)] = None
    for name in ctx.endpoint_names():
        names[("endpoint", name)] = None
    if ctx.kube_probe()[0]:
        try:
            from wizard.doctor.lab import custom_resources

            for obj in custom_resources(ctx):
                arn = ((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("arn", "")
                if arn.startswith("arn:aws:sagemaker:"):
                    rtype, _, name = arn.split(":", 5)[5].partition("/")
                    if rtype in SAGEMAKER_TYPES:
                        names[(rtype, name)] = None
        except Exception:  # noqa: BLE001 - the kubernetes part notes listing errors
            pass
    return names


def sagemaker_parts(col: Collector, ctx: DoctorContext) -> None:
    """Describes of the lab's SageMaker resources and the tails of their CloudWatch logs."""
    names = sagemaker_names(ctx)
    if not names:
        col.note("sagemaker/*", "the lab has no SageMaker resource on record yet")
        return
    try:
        ctx.require_aws()
    except Exception as exc:  # noqa: BLE001
        col.note("sagemaker/*", str(exc))
        return
    sm, logs = ctx.aws("sagemaker"), ctx.aws("logs")
    for rtype, name in names:
        op, param, group = SAGEMAKER_TYPES[rtype]

        def describe(op=op, param=param, rtype=rtype, name=name):
            """Keep one SageMaker resource's description."""
            answer = getattr(sm, op)(**{param: name})
            answer.pop("ResponseMetadata", None)
            col.add_json(f"sagemaker/{rtype}/{name}.json", answer)

        col.attempt(f"sagemaker/{rtype}/{name}.json", describe)
        if group:
            col.attempt(f"logs/{rtype}/{name}.log",
                        lambda g=group, r=rtype, n=name: _log_tail(col, logs, g, r, n))


def _log_tail(col: Collector, logs, group: str, rtype: str, name: str) -> None:
    """The last events of a resource's log streams (CloudWatch Logs)."""
    group = group.format(name=name)
    prefix = "" if "{name}" in SAGEMAKER_TYPES[rtype][2] else f"{name}/"
    kwargs = {"logGroupName": group, "limit": LOG_STREAMS}
    if prefix:
        kwargs["logStreamNamePrefix"] = prefix
    try:
        streams = logs.describe_log_streams(**kwargs)["logStreams"]
    except Exception as exc:  # noqa: BLE001
        if "ResourceNotFound" in type(exc).__name__ or "ResourceNotFound" in str(exc):
            col.note(f"logs/{rtype}/{name}.log", f"no log group {group} (nothing logged yet)")
            return
        raise
    lines = []
    for stream in streams:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                     limit=LOG_EVENTS, startFromHead=False)["events"]
        lines.append(f"== {group} {stream['logStreamName']} (last {len(events)} events)")
        lines += [e.get("message", "").rstrip("\n") for e in events]
    if not streams:
        col.note(f"logs/{rtype}/{name}.log", f"no log stream for {name} in {group}")
        return
    col.add_text(f"logs/{rtype}/{name}.log", "\n".join(lines) + "\n")


# -- the sandbox --------------------------------------------------------------------------------
def sandbox_parts(col: Collector, ctx: DoctorContext) -> None:
    """The sandbox's status and the end of its daemon log, when the lab runs there."""
    if not ctx.target.is_sandbox:
        return
    from wizard.sandbox import manager

    col.attempt("sandbox/status.json",
                lambda: col.add_json("sandbox/status.json", manager.status(ctx.state_dir)))
    col.attempt("sandbox/daemon.log",
                lambda: col.add_text("sandbox/daemon.log", manager.log_tail(ctx.state_dir, 400)))
