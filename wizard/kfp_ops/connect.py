"""Finding and reaching Kubeflow Pipelines: host, port-forward, credentials, error translation.

Order of hosts: the ``kfp_host`` the user gave, the target's (the sandbox's, or
``KF_PIPELINES_ENDPOINT``), the in-cluster service when running in a pod, else a
``kubectl port-forward`` to ``svc/ml-pipeline`` that :func:`kfp_connection` starts and stops.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

from wizard.errors import EnvironmentProblem, InputError
from wizard.protocol import Context, Reporter, cmd
from wizard.secrets import Secret

IN_CLUSTER_HOST = "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
#: where Kubeflow mounts a projected token for pipelines, then the pod's own token
TOKEN_FILES = ("/var/run/secrets/kubeflow/pipelines/token",
               "/var/run/secrets/kubernetes.io/serviceaccount/token")


def apply_credentials(ctx: Context, token=None, cookie=None) -> str:
    """Put the given token/cookie (or an in-cluster token) on the target; say which is used."""
    if token:
        ctx.target.kfp_token = token if isinstance(token, Secret) else Secret(str(token))
        return "bearer token"
    if cookie:
        value = cookie.reveal() if isinstance(cookie, Secret) else str(cookie)
        value = value.split("authservice_session=", 1)[-1].split(";", 1)[0].strip()
        ctx.target.kfp_cookie = Secret(value)
        return "authservice_session cookie"
    if not ctx.target.is_sandbox and os.environ.get("KUBERNETES_SERVICE_HOST"):
        for path in TOKEN_FILES:
            if Path(path).is_file():
                ctx.target.kfp_token = Secret(Path(path).read_text().strip())
                return f"service account token ({path})"
    return "no credentials"


def _free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def port_forward(ctx: Context, reporter: Reporter, timeout: float = 20.0):
    """``kubectl port-forward -n kubeflow svc/ml-pipeline PORT:8888`` for the duration."""
    port = _free_port()
    argv = ["kubectl", "port-forward", "-n", "kubeflow", "svc/ml-pipeline", f"{port}:8888"]
    if ctx.target.kubeconfig:
        argv[1:1] = ["--kubeconfig", str(ctx.target.kubeconfig)]
    reporter.command(cmd(*argv, note="kept open while the wizard talks to KFP"))
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        raise EnvironmentProblem("kubectl is not installed, so the wizard cannot reach Kubeflow "
                                 "Pipelines through a port-forward.",
                                 remediation="Install kubectl, or give kfp_host.") from None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EnvironmentProblem(
                    f"kubectl port-forward to svc/ml-pipeline ended: {proc.stdout.read()[-400:]}",
                    remediation="Check that Kubeflow Pipelines is installed (kubectl get svc -n "
                    "kubeflow ml-pipeline), or give kfp_host.")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.2)
        else:
            raise EnvironmentProblem("kubectl port-forward to svc/ml-pipeline did not open in "
                                     f"{timeout:.0f} s.", remediation="Give kfp_host instead.")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def probe(host: str) -> None:
    """Refuse an unreachable host early, with the address in the message."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"{host}/apis/v2beta1/healthz", timeout=5).close()
    except urllib.error.HTTPError:
        return  # it answers HTTP: reachable (auth is judged by the first real call)
    except Exception as exc:  # noqa: BLE001 - every network failure means unreachable
        raise EnvironmentProblem(
            f"Kubeflow Pipelines is not reachable at {host} ({type(exc).__name__}: {exc}).",
            remediation="Check the address (kubectl get svc -n kubeflow ml-pipeline; or "
            "'kubectl port-forward -n kubeflow svc/ml-pipeline 8888:8888' and use "
            "http://localhost:8888), then run the step again.") from None


@contextlib.contextmanager
def kfp_connection(ctx: Context, reporter: Reporter, given_host: str | None = None):
    """A working ``kfp.Client`` for the lab, and the host it talks to."""
    with contextlib.ExitStack() as stack:
        host = given_host or ctx.target.kfp_host
        if not host and os.environ.get("KUBERNETES_SERVICE_HOST"):
            host = IN_CLUSTER_HOST
        if not host:
            host = stack.enter_context(port_forward(ctx, reporter))
        probe(host)
        if host != ctx.target.kfp_host:
            ctx.target.kfp_host = host
            ctx.reset_clients()
        yield ctx.clients.kfp, host


def translate(exc: Exception, doing: str) -> Exception:
    """A KFP client error as a LabwizError saying what to do next."""
    status = getattr(exc, "status", None)
    body = str(getattr(exc, "body", "") or "")[:400]
    if status in (401, 403):
        return InputError(
            f"Kubeflow Pipelines refused the credentials while {doing} (HTTP {status}).",
            remediation="Give a fresh authservice_session cookie (from your browser after "
            "logging in to Kubeflow) or a valid bearer token as kfp_cookie / kfp_token.")
    if status:
        return EnvironmentProblem(f"Kubeflow Pipelines answered HTTP {status} while {doing}: "
                                  f"{body}", remediation="Check the message, fix, run again.")
    return EnvironmentProblem(f"Talking to Kubeflow Pipelines failed while {doing}: "
                              f"{type(exc).__name__}: {exc}",
                              remediation="Check that KFP is up (labwiz doctor), then run again.")
