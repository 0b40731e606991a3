"""Run the real ACK SageMaker controller as a child of the sandbox daemon.

:class:`RealAckController` has the builtin controller's interface (``start()``, ``stop()``,
``healthy()``), so the daemon's :class:`~wizard.sandbox.daemon_ack.AckScaleFollower` pauses and
resumes it when the ``ack-system/ack-sagemaker-controller`` Deployment is scaled. The process
gets the sandbox's admin kubeconfig, the sandbox's AWS endpoint for SageMaker and STS, the
sandbox account's credentials, and nothing of the user's own configuration (its HOME, AWS
config and credentials files are its own, empty). Its log goes to ``<data>/ack-real/
controller.log``; its pid to ``controller.pid``, so a controller left behind by a daemon that
was killed is stopped by the next start or by ``labwiz sandbox down``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger("labwiz.sandbox.daemon")

HOST = "127.0.0.1"
LOG_FILE, PID_FILE = "controller.log", "controller.pid"
#: the lab's kinds; the controller reconciles only these (``--reconcile-resources``)
LAB_KINDS = ("ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model",
             "EndpointConfig", "Endpoint", "TransformJob")
START_TIMEOUT = 60.0


def free_port() -> int:
    """A port on loopback nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def controller_flags(aws_url: str, region: str, metrics_port: int, health_port: int,
                     kinds: tuple[str, ...] = LAB_KINDS, log_level: str = "info",
                     watch_namespace: str | None = None) -> list[str]:
    """The command-line flags, all of them ACK runtime v0.62's (``pkg/config``)."""
    extra = [f"--watch-namespace={watch_namespace}"] if watch_namespace else []
    return extra + [
        f"--aws-region={region}",
        f"--aws-endpoint-url={aws_url}",
        f"--aws-identity-endpoint-url={aws_url}",  # STS GetCallerIdentity at start-up
        "--allow-unsafe-aws-endpoint-urls=true",   # the sandbox speaks http on loopback
        "--enable-leader-election=false",
        "--enable-carm=false",
        "--enable-field-export-reconciler=false",  # no FieldExport CRD in the lab's cluster
        f"--metrics-addr={HOST}:{metrics_port}",
        f"--healthz-addr={HOST}:{health_port}",
        f"--reconcile-resources={','.join(kinds)}",
        f"--log-level={log_level}",
    ]


def _alive_controller(pid: int, binary: str) -> bool:
    """Whether ``pid`` is alive and runs ``binary`` (not a recycled pid)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return os.path.realpath(exe).removesuffix(" (deleted)") == os.path.realpath(binary)


def stop_stale(work_dir: Path) -> bool:
    """Stop a controller a previous daemon left running (its pid file names it)."""
    try:
        data = json.loads((work_dir / PID_FILE).read_text())
        pid, binary = int(data["pid"]), str(data["binary"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    found = _alive_controller(pid, binary)
    if found:
        log.warning("ack: stopping a real controller left running (pid %s)", pid)
        _terminate(pid, 10.0)
    (work_dir / PID_FILE).unlink(missing_ok=True)
    return found


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM a process that is not our child, then SIGKILL after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.05)


class RealAckController:
    """The real controller's process; see the module docstring."""

    def __init__(self, binary: Path, kubeconfig: Path, aws_url: str, region: str,
                 work_dir: Path, access_key_id: str = "testing",
                 secret_access_key: str = "testing", kinds: tuple[str, ...] = LAB_KINDS,
                 log_level: str | None = None, watch_namespace: str | None = None):
        self.binary = Path(binary)
        self.kubeconfig = Path(kubeconfig)
        self.aws_url = aws_url
        self.region = region
        self.work_dir = Path(work_dir)
        self.kinds = kinds
        self.watch_namespace = watch_namespace  # None: every namespace, as the lab installs it
        self.log_level = log_level or os.environ.get("LABWIZ_ACK_LOG_LEVEL", "info")
        self._credentials = (access_key_id, secret_access_key)
        self.proc: subprocess.Popen | None = None
        self.health_url: str | None = None
        self.metrics_url: str | None = None
        self.started_at: float | None = None

    @property
    def log_path(self) -> Path:
        """The controller's own log (JSON lines from controller-runtime's zap logger)."""
        return self.work_dir / LOG_FILE

    def command(self, metrics_port: int, health_port: int) -> list[str]:
        """The full command line."""
        return [str(self.binary), *controller_flags(self.aws_url, self.region, metrics_port,
                                                    health_port, self.kinds, self.log_level,
                                                    self.watch_namespace)]

    def environment(self) -> dict[str, str]:
        """The child's environment: the sandbox's, never the user's AWS or kube config."""
        home = self.work_dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        for name in ("aws-config", "aws-credentials"):
            (home / name).touch()
        loopback = "127.0.0.1,localhost"
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "KUBECONFIG": str(self.kubeconfig),
            "AWS_ACCESS_KEY_ID": self._credentials[0],
            "AWS_SECRET_ACCESS_KEY": self._credentials[1],
            "AWS_REGION": self.region, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "NO_PROXY": loopback, "no_proxy": loopback,
        }

    def start(self, timeout: float = START_TIMEOUT) -> "RealAckController":
        """Start the process and wait until its health endpoint answers, or raise."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        stop_stale(self.work_dir)
        metrics_port, health_port = free_port(), free_port()
        self.health_url = f"http://{HOST}:{health_port}/healthz"
        self.metrics_url = f"http://{HOST}:{metrics_port}/metrics"
        cmd = self.command(metrics_port, health_port)
        with open(self.log_path, "ab") as out:
            out.write(f"--- labwiz: starting {' '.join(cmd)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=self.environment(),
                                         cwd=str(self.work_dir), start_new_session=True)
        self.started_at = time.monotonic()
        (self.work_dir / PID_FILE).write_text(json.dumps(
            {"pid": self.proc.pid, "binary": str(self.binary.resolve())}))
        log.info("ack: real controller started (pid %s): %s", self.proc.pid, " ".join(cmd))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the real ACK controller exited with code "
                                   f"{self.proc.returncode} at start; {self.log_path} ends:\n"
                                   + self.log_tail())
            if self._probe():
                log.info("ack: real controller healthy after %.2f s",
                         time.monotonic() - self.started_at)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the real ACK controller was not healthy within {timeout:.0f} s; "
                           f"{self.log_path} ends:\n" + self.log_tail())

    def _probe(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def exited(self) -> bool:
        """Whether the process was started and has ended since."""
        return self.proc is not None and self.proc.poll() is not None

    def healthy(self) -> bool:
        """Running, and its health endpoint answers 200."""
        return self.proc is not None and self.proc.poll() is None and self._probe()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the controller's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def describe(self) -> dict[str, Any]:
        """What ``sandbox status`` shows about it."""
        return {"kind": "real", "binary": str(self.binary), "log": str(self.log_path),
                "pid": self.proc.pid if self.proc else None,
                "health_url": self.health_url, "metrics_url": self.metrics_url}

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (controller-runtime shuts down cleanly), SIGKILL after ``timeout``."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=max(timeout, 2.0))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        (self.work_dir / PID_FILE).unlink(missing_ok=True)
        log.info("ack: real controller stopped (exit %s)", proc.returncode)
