"""Start, stop and inspect the sandbox daemon; what ``labwiz sandbox ...`` and ``--sandbox`` call.

Everything lives in ``<state_dir>/sandbox``: ``sandbox.json`` (written by the daemon when every
service is healthy), ``runtime.json`` (the daemon's progress and each part's state),
``daemon.log`` (its output, including the AWS request log), ``faults.json`` and each service's
data. This module is imported by the CLI at start-up, so it imports nothing heavy.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wizard.errors import EnvironmentProblem

from . import faults as faults_mod

DEFAULT_REGION = "eu-west-1"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
URL_SERVICES = ("aws", "kube", "kfp")
PART_ORDER = ("aws", "sagemaker", "kube", "provision", "kfp", "ack")  # the daemon's start order


class SandboxError(EnvironmentProblem, RuntimeError):
    """The sandbox cannot do what was asked; the message says what to do next (exit code 5,
    like every service labwiz cannot use)."""


@dataclass
class SandboxInfo:
    """The running sandbox, as ``sandbox.json`` describes it (see docs/ARCHITECTURE.md)."""

    pid: int
    started_at: str
    region: str
    account_id: str
    services: dict[str, dict[str, str]]
    kubeconfig: str
    cluster_name: str
    bucket: str
    profile_namespace: str
    service_account: str
    execution_role_arn: str
    extra: dict[str, Any] = field(default_factory=dict)
    reused: bool = False  # set by up()/ensure_running() when the sandbox was already running

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SandboxInfo":
        """Build from ``sandbox.json``'s content; unknown keys go to ``extra``."""
        names = {f.name for f in fields(cls)} - {"extra", "reused"}
        missing = names - data.keys()
        if missing:
            raise SandboxError(f"sandbox.json lacks {', '.join(sorted(missing))}; run "
                               "`labwiz sandbox down` and `labwiz sandbox up` to rewrite it")
        known = {k: data[k] for k in names}
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})

    def to_dict(self) -> dict[str, Any]:
        """The flat ``sandbox.json`` document (extra keys included)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in ("extra", "reused")}
        return {**self.extra, **out}

    def url(self, service: str) -> str:
        """The base URL of ``aws``, ``kube`` or ``kfp``."""
        return self.services[service]["url"]


# -- paths and process checks -----------------------------------------------------------------
def sandbox_dir(state_dir: Path) -> Path:
    """Where the sandbox keeps everything for ``state_dir``."""
    return Path(state_dir) / "sandbox"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _is_daemon(pid: int | None) -> bool:
    """Whether ``pid`` is alive and is a sandbox daemon (not a recycled pid)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z"):
            return False  # a zombie is dead for our purposes
    except OSError:
        return True  # no /proc: trust the signal check
    return b"wizard.sandbox.daemon" in cmdline


def _daemon_pid(sdir: Path) -> int | None:
    """The pid of the daemon running on ``sdir``, if any."""
    for name in ("runtime.json", "sandbox.json"):
        data = _read_json(sdir / name) or {}
        pid = data.get("pid")
        if isinstance(pid, int) and _is_daemon(pid):
            return pid
    return None


def log_tail(state_dir: Path, lines: int = 25) -> str:
    """The end of ``daemon.log``, for error messages."""
    try:
        text = (sandbox_dir(state_dir) / "daemon.log").read_text(errors="replace")
    except OSError:
        return "(no daemon.log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _probe(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """GET ``url``: (True, body) on a 2xx answer, else (False, why not)."""
    import urllib.error  # only status needs HTTP; keep the CLI's start-up light
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300, resp.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code} from {url}"
    except OSError as exc:
        return False, f"{url}: {getattr(exc, 'reason', exc)}"


def _port_free(port: int) -> bool:
    """Whether ``port`` on loopback can be bound now (as the servers bind: SO_REUSEADDR)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


HEALTH_PATHS = {"aws": "/_labwiz/health", "kube": "/healthz", "kfp": "/apis/v2beta1/healthz"}


# -- public interface ---------------------------------------------------------------------------
def read_info(state_dir: Path) -> SandboxInfo | None:
    """The running sandbox's info, or None when it is not running (stale files ignored)."""
    data = _read_json(sandbox_dir(state_dir) / "sandbox.json")
    if not data or not _is_daemon(data.get("pid")):
        return None
    return SandboxInfo.from_dict(data)


def status(state_dir: Path) -> dict[str, Any]:
    """Every part's state, address and live health, plus what is wrong, as a JSON-ready dict."""
    sdir = sandbox_dir(state_dir)
    runtime = _read_json(sdir / "runtime.json") or {}
    info = _read_json(sdir / "sandbox.json")
    pid = _daemon_pid(sdir)
    out: dict[str, Any] = {
        "state_dir": str(state_dir), "running": pid is not None, "pid": pid,
        "phase": runtime.get("phase") if pid else "stopped",
        "region": (info or runtime).get("region"), "services": {}, "problems": [],
        "ack": runtime.get("ack", "builtin") if pid else None,
        "faults": [str(f) for f in faults_mod.read(sdir)],
    }
    if pid is None:
        stale = (runtime.get("pid") and runtime.get("phase") not in ("stopped", None))
        if stale:
            out["problems"].append(f"the daemon (pid {runtime['pid']}) is gone without a clean "
                                   "stop; `labwiz sandbox up` starts it again")
        else:
            out["problems"].append("not running; `labwiz sandbox up` starts it")
        return out
    aws_health: dict[str, Any] = {}
    parts = runtime.get("parts") or {}
    for name in sorted(parts, key=lambda n: PART_ORDER.index(n) if n in PART_ORDER else 99):
        part = parts[name]
        entry = {"state": part.get("state"), "url": part.get("url"), "detail": part.get("detail"),
                 "healthy": False}
        if entry["state"] == "running":
            if name in HEALTH_PATHS and entry["url"]:
                ok, body = _probe(entry["url"] + HEALTH_PATHS[name])
                entry["healthy"] = ok
                if not ok:
                    entry["detail"] = body
                elif name == "aws":
                    aws_health = json.loads(body)
            elif name == "sagemaker":
                entry["healthy"] = bool(aws_health.get("sagemaker"))
                if not entry["healthy"]:
                    entry["detail"] = aws_health.get("sagemaker_problem") or "not answering"
            elif (part.get("controller") or {}).get("health_url"):
                # the real ACK controller: its own health endpoint, and where its log is
                ctl = entry["controller"] = part["controller"]
                ok, body = _probe(ctl["health_url"])
                entry["healthy"] = ok and part.get("healthy") is not False
                if not entry["healthy"]:
                    entry["detail"] = f"{body}; its log: {ctl.get('log')}"
            else:  # ack, provision: no address of their own; the daemon checks them
                entry["healthy"] = part.get("healthy") is not False
                if not entry["healthy"]:
                    entry["detail"] = "its threads stopped (see daemon.log)"
                if part.get("controller"):
                    entry["controller"] = part["controller"]
        out["services"][name] = entry
        if not entry["healthy"]:
            out["problems"].append(f"{name}: {entry['state']}"
                                   + (f" - {entry['detail']}" if entry["detail"] else ""))
    out["healthy"] = bool(out["services"]) and not out["problems"]
    if info:
        creds = info.get("credentials")
        if isinstance(creds, dict) and creds.get("secret_access_key"):
            # status output ends up in terminals, bug reports and bundles: the key id is enough
            # to recognise the identity; `labwiz sandbox env` gives the secret when wanted
            info = dict(info, credentials=dict(creds, secret_access_key="(hidden: see "
                                                                         "`labwiz sandbox env`)"))
        out["info"] = info
    return out


def _spawn(state_dir: Path, region: str, ports: dict[str, int] | None,
           ack: str = "builtin", warm_runs: bool = False) -> subprocess.Popen:
    sdir = sandbox_dir(state_dir)
    sdir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    cmd = [sys.executable, "-m", "wizard.sandbox.daemon", "--data-dir", str(sdir),
           "--region", region, "--ack", ack, *(["--warm-runs"] if warm_runs else [])]
    for name, port in (ports or {}).items():
        if port:
            cmd += [f"--{name}-port", str(int(port))]
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", PYTHONUNBUFFERED="1")
    root = str(Path(__file__).resolve().parents[2])  # so the daemon imports this same tree
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    log = open(sdir / "daemon.log", "ab")
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True, cwd=str(sdir), env=env)
    finally:
        log.close()


class _Running:
    """A daemon this process did not start, watched like a ``Popen``."""

    def __init__(self, pid: int):
        self.pid = pid

    def poll(self) -> int | None:
        """None while it runs, -1 once it is gone."""
        return None if _is_daemon(self.pid) else -1


def _wait_ready(state_dir: Path, proc: subprocess.Popen, timeout: float) -> SandboxInfo:
    sdir = sandbox_dir(state_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code == 3:  # another `up` won the race for this state dir: wait on its daemon
            other = _daemon_pid(sdir)
            if other is not None:
                return _wait_ready(state_dir, _Running(other), deadline - time.monotonic())
            time.sleep(0.05)
            continue
        if code is not None:
            raise SandboxError(_exit_message(state_dir, code))
        info = _read_json(sdir / "sandbox.json")
        if info and info.get("pid") == proc.pid:
            return SandboxInfo.from_dict(info)
        runtime = _read_json(sdir / "runtime.json") or {}
        if runtime.get("pid") == proc.pid and runtime.get("phase") == "partial":
            raise SandboxError(_partial_message(state_dir))
        time.sleep(0.05)
    raise SandboxError(
        f"the sandbox did not become healthy within {timeout:.0f} s; it is still starting "
        f"(pid {proc.pid}). `labwiz sandbox status` shows each part; `labwiz sandbox down` "
        f"stops it. Last lines of {sdir / 'daemon.log'}:\n{log_tail(state_dir)}"
    )


def _exit_message(state_dir: Path, code: int) -> str:
    tail = log_tail(state_dir)
    if code == 4:
        return ("the sandbox could not bind its port: it is in use by another program. Free "
                "it, or let the sandbox choose free ports (drop the --*-port options).\n" + tail)
    if code == 3:
        return ("another sandbox daemon holds this state directory; `labwiz sandbox status` "
                "shows it.\n" + tail)
    return f"the sandbox daemon exited with code {code} while starting. Its log ends:\n{tail}"


def _partial_message(state_dir: Path) -> str:
    st = status(state_dir)
    lines = "\n".join(f"  - {p}" for p in st["problems"])
    return ("the sandbox is running, but not every part is healthy:\n" + lines +
            "\nThe healthy parts stay up (`labwiz sandbox status`); `labwiz sandbox down` "
            "stops it.")


#: seconds per simulated SageMaker status phase, unless LABWIZ_SAGEMAKER_DELAY says otherwise
DEFAULT_SAGEMAKER_PACE = 0.3


def sagemaker_pace() -> float:
    """The pace of SageMaker's statuses: LABWIZ_SAGEMAKER_DELAY (seconds per phase, 0–60) or the
    default. Raises :class:`SandboxError` saying what to set when the variable is not usable."""
    raw = os.environ.get("LABWIZ_SAGEMAKER_DELAY", "").strip()
    if not raw:
        return DEFAULT_SAGEMAKER_PACE
    try:
        pace = float(raw)
    except ValueError:
        pace = -1.0
    if not 0 <= pace <= 60:
        raise SandboxError(
            f"LABWIZ_SAGEMAKER_DELAY={raw!r} is not a number of seconds between 0 and 60; set it "
            f"like LABWIZ_SAGEMAKER_DELAY=2, or unset it for the default "
            f"({DEFAULT_SAGEMAKER_PACE} s per status phase)")
    return pace


ACK_MODES = ("builtin", "real")


def ack_mode(explicit: str | None = None) -> str:
    """Which ACK controller a new sandbox runs: ``explicit``, else ``LABWIZ_SANDBOX_ACK``, else
    the builtin one. Raises :class:`SandboxError` for anything but builtin or real."""
    mode = (explicit or os.environ.get("LABWIZ_SANDBOX_ACK") or "builtin").strip().lower()
    if mode not in ACK_MODES:
        raise SandboxError(f"unknown ACK controller {mode!r}: use builtin or real "
                           "(--ack, or LABWIZ_SANDBOX_ACK)")
    return mode


def _check_real_ack() -> None:
    """Refuse ``--ack real`` at once, with what to do, when the binary or CRDs are missing."""
    from . import realack

    try:
        problem = realack.missing_message()
    except realack.RealAckError as exc:
        problem = exc.message
    if problem:
        raise SandboxError(
            f"--ack real needs the real ACK SageMaker controller: {problem}. Build it with "
            f"`labwiz sandbox build-ack` (needs Go), or set {realack.ENV_BINARY} and "
            f"{realack.ENV_CRDS}; `labwiz sandbox up` without --ack uses the builtin one.")


def up(state_dir: Path, region: str | None = None, faults: list | None = None,
       ports: dict[str, int] | None = None, timeout: float = START_TIMEOUT,
       ack: str | None = None, warm_runs: bool = False) -> SandboxInfo:
    """Start the sandbox (or reuse the running one) and wait until every service is healthy.

    ``region`` None means the sandbox's own: the running one's, else the region it last ran
    in (its data is kept per state directory), else eu-west-1.
    ``faults`` (``Fault`` objects or ``KIND=VALUE`` strings), when not empty, replace the
    fault set, also on a sandbox that is already running.
    ``ack`` picks the ACK controller (:func:`ack_mode`); asking a running sandbox for another
    one is refused. ``warm_runs``: a daemon started now keeps a KFP run worker on standby
    (for a lab about to start a run). Raises :class:`SandboxError` with the log's tail when
    it cannot get healthy in time.
    """
    from wizard.extras import require_sandbox

    require_sandbox()  # before anything is written: the lean install says what to install
    state_dir = Path(state_dir)
    sdir = sandbox_dir(state_dir)
    sagemaker_pace()  # a bad LABWIZ_SAGEMAKER_DELAY is refused here, not in the daemon
    mode = ack_mode(ack)
    parsed = [f if isinstance(f, faults_mod.Fault) else faults_mod.parse(f) for f in faults or []]
    if parsed:  # no faults given: keep those already set (`labwiz sandbox fail --clear` clears)
        faults_mod.write(sdir, parsed)
    pid = _daemon_pid(sdir)
    if region is None:
        region = (_read_json(sdir / "runtime.json") or {}).get("region") or DEFAULT_REGION
    if pid is not None:
        runtime = _read_json(sdir / "runtime.json") or {}
        if runtime.get("region") and runtime["region"] != region:
            raise SandboxError(
                f"the sandbox is running in {runtime['region']}, not {region}; `labwiz sandbox "
                f"down` first, or `labwiz sandbox reset` to start over in {region}")
        running_mode = runtime.get("ack", "builtin")
        if ack is not None and running_mode != mode:
            raise SandboxError(
                f"the sandbox is running with the {running_mode} ACK controller, not the "
                f"{mode} one; `labwiz sandbox down` first, then `labwiz sandbox up --ack {mode}`")
        info = read_info(state_dir)
        if info is not None:
            info.reused = True
            return info
        if runtime.get("phase") == "partial":
            raise SandboxError(_partial_message(state_dir))

        info = _wait_ready(state_dir, _Running(pid), timeout)  # type: ignore[arg-type]
        info.reused = True
        return info
    for name, port in (ports or {}).items():
        if port and not _port_free(int(port)):
            raise SandboxError(
                f"port {port} for {name} on 127.0.0.1 is in use by another program; free it, "
                f"or drop --{name}-port to let the sandbox pick a free port")
    if mode == "real":
        _check_real_ack()
    for stale in ("sandbox.json", "runtime.json"):
        (sdir / stale).unlink(missing_ok=True)
    proc = _spawn(state_dir, region, ports, mode, warm_runs)
    return _wait_ready(state_dir, proc, timeout)


def down(state_dir: Path, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the daemon (SIGTERM, then SIGKILL after ``timeout``); data is kept.

    Returns whether a daemon was running.
    """
    sdir = sandbox_dir(state_dir)
    pid = _daemon_pid(sdir)
    if pid is None:
        (sdir / "sandbox.json").unlink(missing_ok=True)
        _stop_real_ack(sdir)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_daemon(pid):
        time.sleep(0.05)
    if _is_daemon(pid):
        os.kill(pid, signal.SIGKILL)
        while _is_daemon(pid):
            time.sleep(0.05)
    (sdir / "sandbox.json").unlink(missing_ok=True)
    _stop_real_ack(sdir)
    return True


def _stop_real_ack(sdir: Path) -> None:
    """Stop a real ACK controller the daemon could not stop (it was killed)."""
    if (sdir / "ack-real" / "controller.pid").exists():
        from .realack_run import stop_stale

        stop_stale(sdir / "ack-real")


def reset(state_dir: Path) -> None:
    """Stop the daemon and delete everything the sandbox kept."""
    down(state_dir)
    shutil.rmtree(sandbox_dir(state_dir), ignore_errors=True)


def ensure_running(state_dir: Path, region: str | None = None) -> SandboxInfo:
    """The running sandbox, started first if needed (what ``--sandbox`` calls)."""
    info = read_info(state_dir)
    if info is not None and (region is None or region == info.region):
        info.reused = True
        return info
    from . import prewarm

    # the daemon takes seconds to start, in its own process: meanwhile this one imports what
    # the steps are about to import (joined before returning, so no import runs concurrently
    # with the caller's)
    warming = prewarm.start()
    try:
        # the lab will start a run: its worker can be started ahead of it
        return up(state_dir, region=region, warm_runs=True)
    finally:
        warming.join()


def env(state_dir: Path) -> dict[str, str]:
    """The environment that points the aws CLI, boto3, kubectl and kfp at the sandbox."""
    from .aws import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

    info = read_info(state_dir)
    if info is None:
        raise SandboxError("the sandbox is not running; start it with `labwiz sandbox up`")
    # the learner's IAM user's key; a sandbox.json from an older daemon has none
    creds = info.extra.get("credentials") or {}
    return {
        "AWS_ENDPOINT_URL": info.url("aws"),
        "AWS_ACCESS_KEY_ID": creds.get("access_key_id") or TEST_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": creds.get("secret_access_key") or TEST_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": info.region,
        "AWS_REGION": info.region,
        "KUBECONFIG": info.kubeconfig,
        "KF_PIPELINES_ENDPOINT": info.url("kfp"),
        "AWS_S3_BUCKET_NAME": info.bucket,
        "AWS_CLUSTER_NAME": info.cluster_name,
        "LABWIZ_SANDBOX": "1",
    }
