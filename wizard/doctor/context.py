"""What every check can ask: the lab's state, the facts it recorded, and quick clients.

Facts come, in order, from the outputs of the steps that produced them, the user's inputs, and the
target (the sandbox's ``sandbox.json`` included), so the doctor works at any point in the lab.
Clients are the target's own (:class:`wizard.clients.Clients`) with short timeouts and few retries:
a doctor that waits minutes on a dead service helps nobody. Each service is probed once; checks
that need a service that is down are skipped with a pointer to the check that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.clients import Clients
from wizard.doctor.model import Skip
from wizard.target import Target

#: how long one call to a service may take before the doctor calls it unreachable
CALL_TIMEOUT = 6.0
#: where the lab keeps its data and script under the bucket (the lab text's prefixes)
DATA_KEY = "lab1/source_data/mnist.pkl.gz"
SCRIPT_KEY = "lab1/processing_code/kmeans_preprocessing.py"
SECRET_NAME = "aws-secret"
#: why the pod-access checks are skipped when the pods are given no AWS access
NOT_USED = ("not used: pod_access none (the lab's ACK components make no AWS call from the "
            "pipeline's pods; the ACK controller's role does, see check 'ack-irsa')")
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
ACK_GROUP = "sagemaker.services.k8s.aws"
ACK_NAMESPACE = "ack-system"


class DoctorClients(Clients):
    """The target's clients with doctor-sized timeouts and retries."""

    def aws(self, service: str):
        """A boto3 client that gives up quickly (two attempts, short timeouts)."""
        if service not in self._aws:
            from botocore.config import Config

            config = Config(retries={"max_attempts": 2, "mode": "standard"},
                            connect_timeout=3, read_timeout=CALL_TIMEOUT)
            kwargs: dict[str, Any] = {"config": config}
            if self.target.aws_endpoint_url:
                kwargs["endpoint_url"] = self.target.aws_endpoint_url
            self._aws[service] = self.session.client(service, **kwargs)
        return self._aws[service]


class DoctorContext:
    """State, facts and clients for one doctor run (shared by every check in it)."""

    def __init__(self, state_dir: Path, target: Target, doc: dict, *, pipeline_paths=()):
        """Keep what the instance needs (see the class docstring)."""
        self.state_dir = Path(state_dir)
        self.target = target
        self.doc = doc
        self.pipeline_paths = [Path(p) for p in pipeline_paths]
        # one retry per Kubernetes or KFP call: the doctor reports a flaky service, not waits it out
        self.clients = DoctorClients(target, http_retries=1)
        self._probes: dict[str, tuple[bool, str]] = {}
        self.cache: dict[str, Any] = {}

    # -- the lab's state ---------------------------------------------------------------------
    def step_status(self, step_id: str) -> str:
        """The status of a lab step in the state (``pending`` when it never ran)."""
        return (self.doc.get("steps", {}).get(step_id) or {}).get("status", "pending")

    def step_done(self, step_id: str) -> bool:
        """Whether the lab step has completed."""
        return self.step_status(step_id) == "done"

    def outputs(self, step_id: str) -> dict:
        """A step's recorded outputs (empty when it has not run)."""
        return (self.doc.get("steps", {}).get(step_id) or {}).get("outputs") or {}

    def ledger(self, kind: str | None = None, live_only: bool = True) -> list[dict]:
        """Ledger rows, optionally of one kind, by default only those not deleted."""
        return [r for r in self.doc.get("ledger", []) if (kind is None or r.get("kind") == kind)
                and not (live_only and r.get("deleted_at"))]

    def step_errors(self) -> list[tuple[str, dict]]:
        """(step id, error) for each step whose last attempt failed."""
        out = []
        for step_id, rec in (self.doc.get("steps") or {}).items():
            if isinstance(rec, dict) and rec.get("error"):
                out.append((step_id, rec["error"]))
        return out

    def fact(self, key: str, *steps: str, default: Any = None) -> Any:
        """A value from the named steps' outputs, else the inputs, else the target."""
        for step_id in steps:
            value = self.outputs(step_id).get(key)
            if value:
                return value
        value = (self.doc.get("inputs") or {}).get(key)
        if value:
            return value
        sandbox = self.target.sandbox or {}
        aliases = {"namespace": "profile_namespace"}
        value = sandbox.get(aliases.get(key, key)) or getattr(self.target, key, None)
        return value or default

    @property
    def region(self) -> str | None:
        """The lab's region as recorded, else the target's."""
        return self.fact("region", "credentials", "data-upload") or self.target.region

    @property
    def namespace(self) -> str | None:
        """The Kubeflow profile namespace the pipeline runs in."""
        return self.fact("namespace", "credentials")

    @property
    def service_account(self) -> str:
        """The service account the pipeline's pods run as."""
        return self.fact("service_account", "credentials", default="default-editor")

    @property
    def bucket(self) -> str | None:
        """The lab's bucket."""
        return self.fact("bucket", "data-upload")

    @property
    def cluster_name(self) -> str | None:
        """The EKS cluster's name."""
        return self.fact("cluster_name", "credentials")

    @property
    def access_mode(self) -> str | None:
        """How pipeline pods reach AWS: ``none`` (the default: they make no AWS calls), ``irsa``,
        ``secret``, or None when not decided yet."""
        return self.fact("access_mode", "credentials") or (self.doc.get("inputs") or {}).get(
            "pod_access")

    def pods_use_aws(self) -> bool:
        """Whether the lab gave the pipeline's pods AWS access (``irsa`` or ``secret``).

        Undecided counts as the default, ``none``: the lab's ACK components only create custom
        resources, and the ACK controller's own role makes the SageMaker calls.
        """
        return self.access_mode in ("irsa", "secret")

    def endpoint_names(self) -> list[str]:
        """The lab's endpoint names: from the run's outputs and the ledger."""
        names = []
        for step_id in ("endpoint-test", "run-monitoring"):
            name = self.outputs(step_id).get("endpoint_name")
            if name and name not in names:
                names.append(name)
        for row in self.ledger("sagemaker-endpoint"):
            if row.get("name") and row["name"] not in names:
                names.append(row["name"])
        # run monitoring records every custom resource as soon as it sees it, so a run that
        # failed while deploying still names its endpoint (from the ARN ACK reported, or the
        # resource's own name, which the lab's components take from the endpoint name)
        for row in self.ledger("custom-resource"):
            if (row.get("details") or {}).get("kind") != "Endpoint":
                continue
            arn = row.get("arn") or ""
            name = arn.split(":endpoint/", 1)[1] if ":endpoint/" in arn else row.get("name")
            if name and name not in names:
                names.append(name)
        return names

    # -- services ------------------------------------------------------------------------------
    def aws(self, service: str):
        """A quick boto3 client for ``service`` (after AWS answered the identity probe)."""
        self.require_aws()
        return self.clients.aws(service)

    def identity(self) -> dict:
        """``sts get-caller-identity`` (cached); raises the client's error when it fails."""
        if "identity" not in self.cache:
            if self.target.is_sandbox and not self.target.aws_endpoint_url:
                from wizard.errors import EnvironmentProblem

                # never fall through to real AWS from a sandbox lab
                self.cache["identity"] = EnvironmentProblem(
                    "The lab targets the sandbox, which is not running.",
                    remediation="Start it with 'labwiz sandbox up' (or pass --sandbox).")
            try:
                if "identity" not in self.cache:
                    self.cache["identity"] = self.clients.aws("sts").get_caller_identity()
            except Exception as exc:  # noqa: BLE001 - kept and re-raised to every asker
                self.cache["identity"] = exc
        value = self.cache["identity"]
        if isinstance(value, Exception):
            raise value
        return value

    def require_aws(self) -> None:
        """Skip the calling check unless AWS answered with valid credentials."""
        try:
            self.identity()
        except Exception:  # noqa: BLE001
            raise Skip("needs working AWS credentials (see check 'aws-credentials')") from None

    def kube_probe(self) -> tuple[bool, str]:
        """Whether the Kubernetes API answers (cached): (ok, detail)."""
        if "kube" not in self._probes and self.target.is_sandbox and not self.target.kubeconfig:
            self._probes["kube"] = (False, "the sandbox is not running ('labwiz sandbox up')")
        if "kube" not in self._probes:
            try:
                from kubernetes import client

                info = client.VersionApi(self.clients.kube).get_code(
                    _request_timeout=CALL_TIMEOUT)
                self._probes["kube"] = (True, f"Kubernetes {info.git_version} at "
                                              f"{self.clients.kube.configuration.host}")
            except Exception as exc:  # noqa: BLE001 - any failure means unreachable here
                self._probes["kube"] = (False, short_error(exc))
        return self._probes["kube"]

    def require_kube(self) -> None:
        """Skip the calling check unless the Kubernetes API answers."""
        if not self.kube_probe()[0]:
            raise Skip("needs the Kubernetes API (see check 'kube-api')")

    def core(self):
        """``CoreV1Api`` (Kubernetes reachable)."""
        self.require_kube()
        return self.clients.core_v1()

    def custom(self):
        """``CustomObjectsApi`` (Kubernetes reachable)."""
        self.require_kube()
        return self.clients.custom_objects()


def short_error(exc: BaseException) -> str:
    """One line about an exception, for 'found' texts (credentials never shown)."""
    from wizard.secrets import redact

    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    reason = getattr(exc, "reason", None)
    status = getattr(exc, "status", None)
    if status and reason and type(exc).__name__ == "ApiException":
        first = f"HTTP {status} {reason}"
    return redact(f"{type(exc).__name__}: {first}"[:300]).rstrip(".")


def aws_error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code")
    return None
