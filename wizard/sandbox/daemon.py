"""The sandbox daemon: one background process that serves the whole offline lab.

Run as ``python -m wizard.sandbox.daemon --data-dir <state>/sandbox [--region R]``; the manager
starts it detached with its output in ``daemon.log``. It starts, in order, the AWS endpoint
(moto + SageMaker), the Kubernetes API, provisions the lab account and cluster, the KFP API and
the ACK controller. Each part it cannot import or start is recorded as *missing* or *failed* in
``runtime.json`` (read by ``labwiz sandbox status``) while the others keep running; only when
every part is healthy does it write ``sandbox.json`` (atomically). SIGTERM or SIGINT stop it
cleanly: parts stop in reverse order, state is flushed, ``sandbox.json`` is removed.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import inspect
import json
import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("labwiz.sandbox.daemon")

HOST = "127.0.0.1"
PROFILE_NAMESPACE = "kubeflow-user-example-com"
SERVICE_ACCOUNT = "default-editor"
INFO_FILE = "sandbox.json"
RUNTIME_FILE = "runtime.json"
PORTS_FILE = "ports.json"
LOCK_FILE = "daemon.lock"
EXIT_LOCKED, EXIT_PORT, EXIT_FAILED = 3, 4, 5
PAUSED = "paused: its deployment is scaled to 0"
#: the parts, in start order; "sagemaker" lives inside the AWS endpoint
PARTS = ("aws", "sagemaker", "kube", "provision", "kfp", "ack")


class PortClash(OSError):
    """A port the daemon was told to use is taken."""

    def __init__(self, message: str):
        super().__init__(errno.EADDRINUSE, message)


def _port_free(port: int) -> bool:
    """Whether ``port`` on loopback can be bound right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the servers do: a port whose old connections linger in TIME_WAIT is free to reuse
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _is_port_clash(exc: BaseException) -> bool:
    """Whether a server's start-up error means its port is taken (servers word it variously)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            return True
        if "already in use" in str(exc) or "Address in use" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one.

    The file is owner-only (0600): ``sandbox.json`` carries the learner's secret access key.
    """
    # per thread: the monitor and the ACK follower may both publish runtime.json at once
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(data, indent=2, sort_keys=True))
    os.chmod(tmp, 0o600)  # a stale tmp file of the same name would keep its old mode
    os.replace(tmp, path)


def call_with(fn: Callable, **available: Any) -> Any:
    """Call ``fn`` with those of ``available`` its signature names.

    The sibling parts are written at the same time as this daemon; this keeps the daemon
    working whichever optional parameters they settle on, and fails clearly on a required
    parameter it cannot supply.
    """
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return fn(**available)
    kwargs = {}
    for name, param in params.items():
        if name in available:
            kwargs[name] = available[name]
        elif param.default is param.empty and param.kind not in (param.VAR_POSITIONAL,):
            raise TypeError(f"{getattr(fn, '__qualname__', fn)} needs '{name}', which the "
                            "daemon does not know how to supply")
    return fn(**kwargs)


def _check(obj: Any) -> bool:
    """A part's own health: ``healthy()`` if it has one, else its threads being alive."""
    try:
        check = getattr(obj, "healthy", None)
        if check is not None:
            return bool(check())
        threads = getattr(obj, "_threads", None)  # the ACK controller keeps its workers here
        if threads is not None:
            return bool(threads) and all(t.is_alive() for t in threads)
    except Exception:  # noqa: BLE001 - a failing check is an unhealthy part
        return False
    return True


class Part:
    """One service of the sandbox as the daemon sees it."""

    def __init__(self, name: str):
        self.name = name
        self.state = "pending"  # pending, starting, running, missing, failed, stopped
        self.url: str | None = None
        self.detail: str | None = None
        self.obj: Any = None
        self.healthy: bool | None = None  # the daemon's last own check (None: not yet)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape in ``runtime.json``."""
        out = {"state": self.state, "url": self.url, "detail": self.detail,
               "healthy": self.healthy}
        if self.obj is not None and hasattr(self.obj, "describe"):
            out["controller"] = self.obj.describe()  # the real ACK controller: pid, log
        return out


class Daemon:
    """Composes the sandbox's servers; see the module docstring."""

    def __init__(self, data_dir: Path, region: str, ports: dict[str, int],
                 ack_mode: str = "builtin", warm_runs: bool = False):
        """``warm_runs``: keep a KFP run worker on standby (asked for by ``--sandbox``, whose
        lab is about to start a run; ``labwiz sandbox up`` alone does not)."""
        self.data_dir = Path(data_dir)
        self.warm_runs = warm_runs
        self.region = region
        self.ports = ports
        #: "builtin" (the ACK-like controller in this process) or "real" (ACK's own binary)
        self.ack_mode = ack_mode
        #: the real controller's CRD directory, installed instead of the derived CRDs
        self.real_ack_crds: Path | None = None
        self.real_ack_binary: Path | None = None
        self.parts = {name: Part(name) for name in PARTS}
        self.phase = "starting"
        self.stop_event = threading.Event()
        self.info: dict[str, Any] = {}
        self.account: Any = None
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        from .faults import Faults

        self.faults = Faults(self.data_dir)
        self.admin_token: str | None = None
        self.kubeconfig = self.data_dir / "kubeconfig"
        self.pod_kubeconfig = self.data_dir / "pod-kubeconfig"

    # -- bookkeeping -----------------------------------------------------------------------
    def write_runtime(self) -> None:
        """Publish the phase and each part's state for ``labwiz sandbox status``."""
        write_json_atomic(self.data_dir / RUNTIME_FILE, {
            "pid": os.getpid(), "phase": self.phase, "region": self.region,
            "started_at": self.started_at, "ack": self.ack_mode,
            "parts": {name: part.to_dict() for name, part in self.parts.items()},
        })

    def _set(self, name: str, state: str, detail: str | None = None, url: str | None = None):
        part = self.parts[name]
        part.state, part.detail = state, detail
        if url:
            part.url = url
        log.info("%s: %s%s", name, state, f" ({detail})" if detail else "")
        self.write_runtime()

    def _port(self, name: str) -> tuple[int, bool]:
        """The port to bind for ``name`` and whether it was asked for explicitly."""
        if self.ports.get(name):
            return self.ports[name], True
        try:  # prefer last run's port, so a learner's exported variables stay right
            previous = json.loads((self.data_dir / PORTS_FILE).read_text()).get(name, 0)
        except (OSError, ValueError):
            previous = 0
        return int(previous or 0), False

    def _bind(self, name: str, make: Callable[[int], Any]) -> Any:
        """Create and start a server on its preferred port, falling back to a free one.

        A port asked for on the command line is used or fails (:class:`PortClash`); last run's
        port is only a preference.
        """
        port, explicit = self._port(name)
        if port and not explicit and not _port_free(port):
            log.info("%s: last run's port %s is taken now; using a free one", name, port)
            port = 0
        server = make(port)
        try:
            server.start()
        except Exception as exc:
            if _is_port_clash(exc):
                raise PortClash(f"{name}: port {port} on {HOST} is in use by another "
                                f"program ({exc})") from exc
            raise
        return server

    # -- the parts -------------------------------------------------------------------------
    def start_aws(self) -> None:
        """The AWS endpoint and, inside it, SageMaker."""
        from .aws.server import AwsServer

        self._set("aws", "starting")
        server = self._bind("aws", lambda port: AwsServer(
            self.data_dir / "aws", HOST, port, self.faults))
        self.parts["aws"].obj = server
        self._set("aws", "running", url=server.url)
        self._set("sagemaker", "starting")
        # an ImportError here is a broken install (`labwiz[sandbox]` is checked before the
        # daemon starts): it fails the part with its own message, never "not in this build"
        try:
            from .aws.sagemaker import make_sagemaker_app

            # statuses still move through real time, at a pace that keeps the lab a rehearsal
            # (LABWIZ_SAGEMAKER_DELAY overrides it, e.g. to demo slower)
            from .manager import sagemaker_pace

            pace = sagemaker_pace()
            app = call_with(make_sagemaker_app, data_dir=self.data_dir / "sagemaker",
                            aws_url=server.url, region=self.region, faults=self.faults,
                            delay=pace)
        except Exception as exc:  # noqa: BLE001 - the rest of the sandbox still starts
            log.exception("SageMaker app failed to start")
            server.attach_sagemaker(None, f"failed to start: {exc}")
            self._set("sagemaker", "failed", str(exc), url=server.url)
            return
        server.attach_sagemaker(app)
        self.parts["sagemaker"].obj = app
        self._set("sagemaker", "running", url=server.url)

    def start_kube(self) -> None:
        """The Kubernetes API server."""
        self._set("kube", "starting")
        from .kube import KubeApiServer

        server = self._bind("kube", lambda port: call_with(
            KubeApiServer, data_dir=self.data_dir / "kube", host=HOST, port=port,
            faults=self.faults))
        self.parts["kube"].obj = server
        self.admin_token = getattr(server, "admin_token", None)
        self._set("kube", "running", url=server.url)

    def provision(self) -> None:
        """The lab's AWS account, then its cluster (namespaces, CRDs, service accounts)."""
        from .aws.provision import provision

        self._set("provision", "starting")
        aws, kube = self.parts["aws"].obj, self.parts["kube"].obj
        began = time.monotonic()
        self.account = provision(aws, self.region, kube.url if kube else None)
        log.info("AWS account provisioned in %.2f s", time.monotonic() - began)
        if kube is None:
            self._set("provision", "failed", "AWS account made; the cluster needs the kube part")
            return
        from .daemon_cluster import seed_cluster

        seed_cluster(self, kube)
        self._set("provision", "running")

    def start_kfp(self) -> None:
        """The KFP API, whose runs get a pod's environment (``run_env``)."""
        self._set("kfp", "starting")
        from .kfp_api import KfpApiServer

        from .daemon_cluster import pod_run_env

        run_env = pod_run_env(self)
        server = self._bind("kfp", lambda port: call_with(
            KfpApiServer, data_dir=self.data_dir / "kfp", host=HOST, port=port,
            run_env=run_env, faults=self.faults, kube_url=self.parts["kube"].url,
            kubeconfig=self.kubeconfig, warm_runs=self.warm_runs,
            on_first_post=self.warm_compute))
        # no auth_token: like `kubectl port-forward svc/ml-pipeline` in the lab, the API on
        # loopback is open, so kfp.Client with KF_PIPELINES_ENDPOINT alone reaches it
        self.parts["kfp"].obj = server
        self._set("kfp", "running", url=server.url)
        from .daemon_cluster import publish_kfp_address

        publish_kfp_address(self)

    def find_real_ack(self) -> None:
        """The real controller's binary and CRDs, or an error naming what is missing."""
        from . import realack

        binary, crds = realack.find_binary(), realack.find_crds()
        if binary is None or crds is None:
            raise RuntimeError("--ack real: " + realack.missing_message())
        self.real_ack_binary, self.real_ack_crds = binary, crds
        log.info("ack: real controller %s, CRDs from %s", binary, crds)

    def start_ack(self) -> None:
        """The ACK SageMaker controller, reconciling custom resources against SageMaker."""
        self._set("ack", "starting")
        if self.ack_mode == "real":
            make_controller = self._real_controller_factory()
        else:
            from .ack import AckController
            AckController  # noqa: B018 - the package resolves it lazily; a broken one fails here

            def make_controller() -> Any:
                """A new controller (each resume gets a fresh one)."""
                # a job in progress is looked at every 0.25 s: the sandbox's SageMaker phases
                # last 0.3 s, and each look is a local call (real ACK requeues far less often)
                return call_with(AckController, kubeconfig=self.kubeconfig,
                                 aws_url=self.parts["aws"].url, region=self.region,
                                 account_id=self.account.account_id, poll_seconds=0.25)
        if self.parts["kube"].obj is None:
            self._set("ack", "failed", "needs the Kubernetes API, which is not running")
            return
        from .daemon_ack import AckScaleFollower

        def on_change(paused: bool) -> None:
            """Show a pause (or resume) in runtime.json once the part is up."""
            if self.parts["ack"].state == "running":
                self._set("ack", "running", PAUSED if paused else None)

        # the controller runs while its Deployment has replicas (kubectl scale pauses it)
        follower = AckScaleFollower(self.parts["kube"].obj, make_controller, on_change)
        self.parts["ack"].obj = follower
        follower.start()
        self._set("ack", "running", PAUSED if follower.paused else None)

    def _real_controller_factory(self) -> Callable[[], Any]:
        """Makes the real controller's process object (see :mod:`.realack_run`)."""
        from .realack_run import RealAckController

        def make_controller() -> Any:
            """A new, unstarted child process with the sandbox's kubeconfig and AWS."""
            return RealAckController(self.real_ack_binary, self.kubeconfig,
                                     self.parts["aws"].url, self.region,
                                     self.data_dir / "ack-real")
        return make_controller

    # -- life cycle ------------------------------------------------------------------------
    def healthy(self) -> dict[str, bool]:
        """Each part's own health check (a part that is not running is not healthy)."""
        out = {}
        for name, part in self.parts.items():
            if part.state != "running":
                out[name] = False
            elif name == "provision":
                out[name] = True
            elif name == "sagemaker":
                out[name] = self.parts["aws"].obj.dispatcher.sagemaker_app is not None
            else:
                out[name] = _check(part.obj)
        return out

    def monitor(self, every: float = 5.0) -> None:
        """Re-check every part while running; publish changes in ``runtime.json``."""
        while not self.stop_event.wait(every):
            health = self.healthy()
            changed = False
            for name, ok in health.items():
                part = self.parts[name]
                if part.state == "running" and part.healthy != ok:
                    part.healthy, changed = ok, True
                    log.warning("%s is %s", name, "healthy again" if ok else "NOT healthy")
            if changed:
                self.write_runtime()

    def start(self) -> None:
        """Start every part; record failures per part instead of giving up."""
        if self.ack_mode == "real":
            self.find_real_ack()
        steps = [("aws", self.start_aws), ("kube", self.start_kube),
                 ("provision", self.provision), ("kfp", self.start_kfp),
                 ("ack", self.start_ack)]
        for name, step in steps:
            if self.stop_event.is_set():
                return
            try:
                step()
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    self._set(name, "failed", f"port in use: {exc}")
                    raise
                log.exception("%s failed", name)
                self._set(name, "failed", f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - the other parts still start
                log.exception("%s failed", name)
                self._set(name, "failed", f"{type(exc).__name__}: {exc}")
            if name == "aws" and self.parts["aws"].obj is None:
                raise RuntimeError("the AWS endpoint did not start; see the log above")
        ports = {n: int(p.url.rsplit(":", 1)[1]) for n, p in self.parts.items()
                 if p.url and n in ("aws", "kube", "kfp")}
        write_json_atomic(self.data_dir / PORTS_FILE, ports)
        health = self.healthy()
        for name, ok in health.items():
            self.parts[name].healthy = ok
        if all(health.values()):
            self.write_info()
            self.phase = "ready"
        else:
            self.phase = "partial"
            log.warning("not every part is healthy: %s",
                        ", ".join(n for n, ok in health.items() if not ok))
        self.write_runtime()
        # the KFP run worker on standby (with warm_runs)
        runs = getattr(self.parts["kfp"].obj, "runs", None)
        if runs is not None and hasattr(runs, "warm_up"):
            runs.warm_up()

    def warm_compute(self) -> None:
        """Start the zygote SageMaker's compute workers fork from (it imports scikit-learn &
        co., about 2 s of CPU). Called on the KFP API's first POST: a lab uploads its pipeline
        a few seconds before the first job, so the zygote is warm by then, and a sandbox that
        never trains (most of the suite's, and one only inspected) never pays for it. A job that
        comes first (boto3 straight to SageMaker) starts it itself."""
        pool = getattr(self.parts["sagemaker"].obj, "pool", None)
        if pool is not None and hasattr(pool, "warm_up"):
            pool.warm_up()

    def write_info(self) -> None:
        """Write ``sandbox.json``, the contract the rest of labwiz reads."""
        acct = self.account
        self.info = {
            "pid": os.getpid(), "started_at": self.started_at, "region": self.region,
            "account_id": acct.account_id, "ack": self.ack_mode,
            "services": {n: {"url": self.parts[n].url} for n in ("aws", "kube", "kfp")},
            "kubeconfig": str(self.kubeconfig), "pod_kubeconfig": str(self.pod_kubeconfig),
            "cluster_name": acct.cluster_name, "bucket": acct.bucket,
            "profile_namespace": PROFILE_NAMESPACE, "service_account": SERVICE_ACCOUNT,
            "execution_role_arn": acct.execution_role_arn,
            "oidc_issuer": acct.oidc_issuer, "oidc_provider_arn": acct.oidc_provider_arn,
            "cluster_arn": acct.cluster_arn, "ack_role_arn": acct.ack_role_arn,
            "node_role_arn": acct.node_role_arn,
            "learner_user_arn": acct.learner_user_arn,
            # the learner's own IAM access key (workshop-learner), so identity checks work
            "credentials": acct.credentials(),
        }
        write_json_atomic(self.data_dir / INFO_FILE, self.info)

    def stop(self) -> None:
        """Stop every running part in reverse order; keep going past failures."""
        self.phase = "stopping"
        self.write_runtime()
        (self.data_dir / INFO_FILE).unlink(missing_ok=True)
        for name in reversed(PARTS):
            part = self.parts[name]
            if part.obj is None or name == "sagemaker":  # the AWS server stops SageMaker
                continue
            began = time.monotonic()
            try:
                stop = getattr(part.obj, "stop", None)
                if stop:
                    # a short join: the ACK controller's watch threads end when the Kubernetes
                    # API, stopped next, closes their streams; the process exits regardless
                    call_with(stop, timeout=0.1)
                part.state = "stopped"
                log.info("%s stopped in %.2f s", name, time.monotonic() - began)
            except Exception:  # noqa: BLE001 - stop the rest regardless
                log.exception("stopping %s failed", name)
        self.phase = "stopped"
        self.write_runtime()


def _lock(data_dir: Path) -> Any:
    """Hold an exclusive lock on the data dir for the daemon's lifetime, or exit."""
    fh = open(data_dir / LOCK_FILE, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"another sandbox daemon is already running on {data_dir}", file=sys.stderr)
        sys.exit(EXIT_LOCKED)
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m wizard.sandbox.daemon``."""
    parser = argparse.ArgumentParser(prog="python -m wizard.sandbox.daemon")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--ack", choices=("builtin", "real"), default="builtin",
                        help="which ACK SageMaker controller reconciles the custom resources")
    parser.add_argument("--warm-runs", action="store_true",
                        help="keep a KFP run worker started ahead of the next run")
    for name in ("aws", "kube", "kfp"):
        parser.add_argument(f"--{name}-port", type=int, default=0,
                            help=f"fixed port for the {name} API (default: free port)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(args.data_dir)
    daemon = Daemon(args.data_dir, args.region,
                    {"aws": args.aws_port, "kube": args.kube_port, "kfp": args.kfp_port},
                    ack_mode=args.ack, warm_runs=args.warm_runs)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping", signum)
        daemon.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        daemon.start()
    except OSError as exc:
        log.error("cannot start: %s", exc)
        code = EXIT_PORT if exc.errno == errno.EADDRINUSE else EXIT_FAILED
        daemon.stop_event.set()
    except Exception as exc:  # noqa: BLE001 - report, clean up, exit non-zero
        log.exception("cannot start: %s", exc)
        code = EXIT_FAILED
        daemon.stop_event.set()
    if code == 0:
        threading.Thread(target=daemon.monitor, name="monitor", daemon=True).start()
    while not daemon.stop_event.wait(1.0):
        pass
    daemon.stop()
    log.info("stopped")
    logging.shutdown()
    lock.close()
    # every part has flushed its state in stop(); worker threads or pools a part left behind
    # must not hold the process (and `labwiz sandbox down`) for their own timeouts
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
