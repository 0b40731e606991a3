"""One sandbox, two controllers: the real ACK SageMaker controller and the builtin one.

Both run against the same in-process sandbox (the AWS endpoint with the SageMaker app, the lab
account, the Kubernetes API with ACK's real CRDs), each confined to its own namespace (the real
one with ``--watch-namespace``), and every SageMaker name carries its side's prefix, so the
SageMaker call log tells their calls apart. A scenario runs on both sides at once; what each
side ends with is an :class:`Observation` that :func:`differences` compares.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"
REGION = "eu-west-1"
SIDES = {"real": "re", "builtin": "bi"}
SHARED_CRDS = Path(__file__).resolve().parents[2].parent / "shared" / "ack-crds" / "v1.9.1"
#: the kind's own status field, compared as a value
STATUS_FIELD = {"TrainingJob": "trainingJobStatus", "ProcessingJob": "processingJobStatus",
                "TransformJob": "transformJobStatus", "Endpoint": "endpointStatus",
                "HyperParameterTuningJob": "hyperParameterTuningJobStatus"}
#: words of a condition message compared (the start of it)
MESSAGE_WORDS = 4


def availability() -> tuple[Path | None, Path | None, str]:
    """(binary, CRD dir, why not) for the real controller on this machine."""
    import shutil

    from wizard.sandbox import realack

    try:
        binary = realack.find_binary()
        crds = realack.find_crds() or (SHARED_CRDS if SHARED_CRDS.is_dir() else None)
    except realack.RealAckError as exc:
        return None, None, exc.message
    if binary is not None and crds is not None:
        return binary, crds, ""
    if binary is None:
        why = (f"no real ACK controller binary ({realack.ENV_BINARY} unset, nothing at "
               f"{realack.cached_binary()})")
        if shutil.which("go") is None:
            why += "; Go is absent, so `labwiz sandbox build-ack` cannot build it"
        else:
            why += "; " + _proxy_verdict()
        return None, None, why
    return None, None, f"no ACK CRDs ({realack.ENV_CRDS} unset)"


def _proxy_verdict() -> str:
    """Whether the Go module proxy would let `labwiz sandbox build-ack` build it, in words."""
    import subprocess

    from wizard.sandbox import realack

    target = f"{realack.MODULE}@{realack.DEFAULT_VERSION}"
    try:
        proc = subprocess.run(["go", "list", "-m", "-json", target], capture_output=True,
                              text=True, timeout=60, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"asking the Go module proxy for {target} failed ({exc})"
    if proc.returncode == 0:
        return f"the Go module proxy serves {target}: run `labwiz sandbox build-ack` (minutes)"
    refusal = next((line.strip() for line in proc.stderr.splitlines() if " 40" in line), "")
    return (f"it cannot be built here: the Go module proxy refuses {target} "
            f"({refusal.rsplit(': ', 1)[-1] or proc.stderr.strip()[-120:]})")


def plural(kind: str) -> str:
    """The resource name of a kind."""
    return kind.lower() + "s"


@dataclass
class Observation:
    """What one side ended with in one scenario, in the terms the wizard cares about."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical name -> facts
    calls: dict[str, list[str]] = field(default_factory=dict)  # logical name -> writes
    reads: dict[str, list[str]] = field(default_factory=dict)  # the same, with the reads
    notes: list[str] = field(default_factory=list)


def condition_summary(obj: dict | None) -> dict[str, tuple[str, str]]:
    """{type: (status, first words of the message)} of an object's conditions."""
    out = {}
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        words = " ".join((cond.get("message") or "").split()[:MESSAGE_WORDS])
        out[cond["type"]] = (cond.get("status", ""), words)
    return out


def condition(obj: dict | None, ctype: str) -> str | None:
    """The status of one condition, or None."""
    return condition_summary(obj).get(ctype, (None,))[0]


class Side:
    """One controller's half of the sandbox: its namespace, its name prefix, its client."""

    def __init__(self, duo: "Duo", name: str):
        self.duo, self.name, self.prefix = duo, name, SIDES[name]
        self.namespace = f"ack-{name}"

    def sm_name(self, scenario: str, logical: str) -> str:
        """The SageMaker (and Kubernetes) name of a logical resource in a scenario."""
        return f"{self.prefix}-{scenario}-{logical}"

    def create(self, kind: str, scenario: str, logical: str, spec: dict) -> str:
        """Create a custom resource; ``spec``'s ``*Name`` fields naming logical resources
        of the same scenario are rewritten by the caller."""
        name = self.sm_name(scenario, logical)
        self.duo.api.create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural(kind), {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
            "metadata": {"name": name, "namespace": self.namespace}, "spec": spec})
        return name

    def get(self, kind: str, name: str) -> dict | None:
        """The resource, or None once it is gone."""
        from kubernetes.client.exceptions import ApiException

        try:
            return self.duo.api.get_namespaced_custom_object(GROUP, VERSION, self.namespace,
                                                             plural(kind), name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch(self, kind: str, name: str, body: dict) -> None:
        """A JSON merge patch of the resource."""
        self.duo.api.api_client.set_default_header("Content-Type", "application/merge-patch+json")
        self.duo.api.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, plural(kind),
                                                    name, body)

    def delete(self, kind: str, name: str) -> None:
        """Delete the resource (the controller's finalizer decides when it goes)."""
        self.duo.api.delete_namespaced_custom_object(GROUP, VERSION, self.namespace,
                                                     plural(kind), name)

    def wait(self, what: str, probe: Callable[[], Any], timeout: float = 200.0) -> Any:
        """Poll until ``probe`` is truthy; fail naming the side and ``what``."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(0.4)
        raise AssertionError(f"[{self.name}] timed out waiting for {what}; last: {last!r}")

    def wait_settled(self, kind: str, name: str, timeout: float = 200.0,
                     status_in: tuple[str, ...] = ()) -> dict:
        """Until ResourceSynced is True (and the status field is one of ``status_in`` when
        given) or ACK.Terminal is True."""
        def settled() -> dict | None:
            obj = self.get(kind, name)
            if condition(obj, "ACK.Terminal") == "True":
                return obj
            if condition(obj, "ACK.ResourceSynced") != "True":
                return None
            value = ((obj or {}).get("status") or {}).get(STATUS_FIELD.get(kind, ""), None)
            return obj if not status_in or value in status_in else None
        return self.wait(f"{kind} {name} to settle", settled, timeout)

    def wait_condition(self, kind: str, name: str, ctype: str, status: str = "True",
                       timeout: float = 200.0) -> dict:
        """Until the resource has condition ``ctype`` with ``status``."""
        return self.wait(f"{kind} {name} {ctype}={status}",
                         lambda: (lambda o: o if condition(o, ctype) == status else None)(
                             self.get(kind, name)), timeout)

    def wait_gone(self, kind: str, name: str, timeout: float = 200.0) -> bool:
        """Until the resource is gone from the Kubernetes API."""
        return self.wait(f"{kind} {name} to be gone", lambda: self.get(kind, name) is None,
                         timeout)

    def facts(self, kind: str, name: str, obj: dict | None = None) -> dict[str, Any]:
        """What the comparison looks at for one resource."""
        obj = self.get(kind, name) if obj is None else obj
        if obj is None:
            return {"exists": False}
        status = obj.get("status") or {}
        return {
            "exists": True,
            "conditions": condition_summary(obj),
            "status": status.get(STATUS_FIELD.get(kind, ""), None),
            "failureReason": " ".join(str(status.get("failureReason") or "").split()[:3]),
            "arn": bool((status.get("ackResourceMetadata") or {}).get("arn")),
            "status_keys": sorted(k for k in status if k != "conditions"),
            "finalizers": list(obj["metadata"].get("finalizers") or []),
        }


class Duo:
    """The sandbox and both controllers; see the module docstring."""

    def __init__(self, root: Path, binary: Path, crds: Path, delay: float = 0.5):
        self.root, self.binary, self.crds, self.delay = root, binary, crds, delay
        self.sides = {name: Side(self, name) for name in SIDES}
        self._stops: list[Callable[[], None]] = []

    def start(self) -> "Duo":
        """Start the sandbox's parts and both controllers."""
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        import boto3
        from kubernetes import client, config

        from wizard.sandbox.ack import AckController
        from wizard.sandbox.aws import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
        from wizard.sandbox.aws.provision import provision
        from wizard.sandbox.aws.sagemaker import make_sagemaker_app
        from wizard.sandbox.aws.server import AwsServer
        from wizard.sandbox.faults import Faults
        from wizard.sandbox.kube import KubeApiServer, seed_kubeflow_cluster, write_kubeconfig
        from wizard.sandbox.realack_run import RealAckController

        root = self.root
        self.faults_dir = root / "faults"
        self.faults_dir.mkdir(parents=True, exist_ok=True)
        self.aws = AwsServer(root / "aws", faults=Faults(self.faults_dir))
        self.aws.start()
        self._stops.append(self.aws.stop)
        self.account = provision(self.aws, REGION)
        app = make_sagemaker_app(root / "sagemaker", self.aws.url, REGION,
                                 Faults(self.faults_dir), delay=self.delay)
        self.aws.attach_sagemaker(app)
        self.kube = KubeApiServer(root / "kube")
        self.kube.start()
        self._stops.insert(0, self.kube.stop)
        seed_kubeflow_cluster(self.kube, crds=[self.crds])
        self.kubeconfig = root / "kubeconfig"
        write_kubeconfig(self.kubeconfig, self.kube.url, self.kube.admin_token,
                         "kf-sm-workshop", "default", "admin")
        self.api = client.CustomObjectsApi(
            config.new_client_from_config(config_file=str(self.kubeconfig)))
        core = client.CoreV1Api(self.api.api_client)
        for side in self.sides.values():
            core.create_namespace({"metadata": {"name": side.namespace}})
        session = dict(endpoint_url=self.aws.url, region_name=REGION,
                       aws_access_key_id=TEST_ACCESS_KEY_ID,
                       aws_secret_access_key=TEST_SECRET_ACCESS_KEY)
        self.sm = boto3.client("sagemaker", **session)
        self.s3 = boto3.client("s3", **session)
        real = RealAckController(self.binary, self.kubeconfig, self.aws.url, REGION,
                                 root / "ack-real", watch_namespace=self.sides["real"].namespace)
        began = time.monotonic()
        real.start()
        self.real_start_seconds = time.monotonic() - began
        self.real = real
        self._stops.insert(0, real.stop)
        builtin = AckController(self.kubeconfig, self.aws.url, REGION, self.account.account_id,
                                namespace=self.sides["builtin"].namespace,
                                poll_seconds=0.5).start()
        self._stops.insert(0, builtin.stop)
        return self

    def stop(self) -> None:
        """Stop the controllers, then the servers."""
        for stop in self._stops:
            try:
                stop()
            except Exception:  # noqa: BLE001 - stop the rest regardless
                pass

    def set_faults(self, *specs: str) -> None:
        """Replace the sandbox's faults (both sides see them)."""
        from wizard.sandbox import faults as faults_mod

        faults_mod.write(self.faults_dir, [faults_mod.parse(s) for s in specs])

    def calls(self, side: Side, scenario: str, reads: bool = False) -> dict[str, list[str]]:
        """SageMaker operations per logical resource of one side's scenario, in order, with
        runs of the same operation collapsed; a failed call ends with ``!``. Describe calls
        are left out unless ``reads``: the two controllers poll at different rates (the real
        one requeues every 30 s, the builtin one every 0.5 s), so their reads cannot match."""
        prefix = f"{side.prefix}-{scenario}-"
        out: dict[str, list[str]] = {}
        for call in list(self.aws.dispatcher.call_log):
            name = call.get("name") or ""
            if call["service"] != "sagemaker" or not name.rsplit("/", 1)[-1].startswith(prefix):
                continue
            logical = name.rsplit("/", 1)[-1][len(prefix):]
            if not reads and call["operation"].startswith(("Describe", "List")):
                continue
            if call["status"] is None:
                # still in flight (the log entry is made before the answer): no outcome yet,
                # and counting it as a success made a retry racing the snapshot look like a
                # create that worked
                continue
            op = call["operation"] + ("" if call["status"] < 300 else "!")
            ops = out.setdefault(logical, [])
            if not ops or ops[-1] != op:
                ops.append(op)
        return out

    def run_both(self, scenario: Callable[[Side], Observation]) -> dict[str, Observation]:
        """Run one scenario on both sides at once; re-raise the first failure."""
        results: dict[str, Any] = {}

        def run(side: Side) -> None:
            try:
                results[side.name] = scenario(side)
            except BaseException as exc:  # noqa: BLE001 - reported below, with the side
                results[side.name] = exc
        threads = [threading.Thread(target=run, args=(s,)) for s in self.sides.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, result in results.items():
            if isinstance(result, BaseException):
                raise AssertionError(f"the {name} side failed: {result}") from result
        return results


def differences(obs: dict[str, Observation]) -> list[str]:
    """Every way the builtin side's observation differs from the real side's, one per line."""
    real, builtin = obs["real"], obs["builtin"]
    out = []
    for logical in sorted(set(real.resources) | set(builtin.resources)):
        a, b = real.resources.get(logical, {}), builtin.resources.get(logical, {})
        for key in sorted(set(a) | set(b)):
            if key == "conditions":
                ca, cb = a.get(key) or {}, b.get(key) or {}
                for ctype in sorted(set(ca) | set(cb)):
                    if ca.get(ctype) != cb.get(ctype):
                        out.append(f"{logical}: condition {ctype}: real {ca.get(ctype)} / "
                                   f"builtin {cb.get(ctype)}")
            elif a.get(key) != b.get(key):
                out.append(f"{logical}: {key}: real {a.get(key)!r} / builtin {b.get(key)!r}")
    for logical in sorted(set(real.calls) | set(builtin.calls)):
        if real.calls.get(logical) != builtin.calls.get(logical):
            out.append(f"{logical}: calls: real {real.calls.get(logical)} / builtin "
                       f"{builtin.calls.get(logical)}")
    return out
