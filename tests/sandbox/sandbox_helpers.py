"""Helpers for the sandbox tests: run the real CLI in a subprocess, read the env it prints."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]


def clean_env(extra: dict | None = None) -> dict:
    """The environment for a subprocess: no host AWS/kube/labwiz settings leak in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABWIZ_", "AWS_", "KUBECONFIG", "KF_PIPELINES"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def sandbox_cli(state_dir: Path, *args: str, module: str = "wizard",
                timeout: float = 150, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``labwiz --state-dir S sandbox ARGS`` (or ``python -m wizard.sandbox.cli``), with
    ``env`` added to the clean environment."""
    if module == "wizard":
        cmd = [sys.executable, "-m", "wizard", "--state-dir", str(state_dir), "sandbox", *args]
    else:
        cmd = [sys.executable, "-m", module, "--state-dir", str(state_dir), *args]
    return subprocess.run(cmd, env={**clean_env(), **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def parse_exports(text: str) -> dict[str, str]:
    """The variables of ``export K=V`` lines, unquoted as a shell would."""
    out = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            out[key] = shlex.split(value)[0] if value else ""
    return out


def sandbox_env(state_dir: Path) -> dict[str, str]:
    """A clean environment plus what ``labwiz sandbox env`` exports."""
    result = sandbox_cli(state_dir, "env")
    assert result.returncode == 0, result.stderr
    return clean_env(parse_exports(result.stdout))


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 120.0,
             every: float = 0.1) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def aws_health(aws_url: str) -> dict:
    """The AWS endpoint's health document."""
    with urllib.request.urlopen(f"{aws_url}/_labwiz/health", timeout=120) as resp:
        return json.loads(resp.read())


def boto(service: str, env: dict, **config: Any) -> Any:
    """A plain boto3 client configured only by ``env`` (as a learner's script would be)."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                            region_name=env["AWS_REGION"])
    return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"],
                          config=Config(**config) if config else None)
