"""Where the lab runs: the offline sandbox, or real AWS with an EKS cluster and Kubeflow.

A :class:`Target` holds only how to reach each system (region, endpoints, kubeconfig, KFP host);
:mod:`wizard.clients` turns it into clients. Secrets (a KFP token or cookie) are
:class:`~wizard.secrets.Secret` and never written to state: ``describe()`` is what state keeps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from wizard.secrets import Secret

DEFAULT_REGION = "eu-west-1"


@dataclass
class Target:
    """How to reach AWS, the cluster and Kubeflow Pipelines for this lab."""

    mode: str = "aws"                       # "aws" or "sandbox"
    region: str | None = None
    aws_profile: str | None = None
    aws_endpoint_url: str | None = None     # the sandbox's AWS endpoint
    aws_credentials: tuple[str, Secret] | None = None  # the sandbox's test credentials
    kubeconfig: Path | None = None
    kube_context: str | None = None
    kfp_host: str | None = None
    kfp_token: Secret | None = None
    kfp_cookie: Secret | None = None
    namespace: str | None = None
    service_account: str | None = None
    sandbox: dict = field(default_factory=dict)  # sandbox.json, when mode == "sandbox"

    @property
    def is_sandbox(self) -> bool:
        """Whether this is the offline sandbox."""
        return self.mode == "sandbox"

    def env(self) -> dict[str, str]:
        """Environment variables that point the aws CLI, kubectl and the kfp CLI at this target."""
        env: dict[str, str] = {}
        if self.region:
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = self.region
        if self.aws_profile:
            env["AWS_PROFILE"] = self.aws_profile
        if self.aws_endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        if self.aws_credentials:
            env["AWS_ACCESS_KEY_ID"] = self.aws_credentials[0]
            env["AWS_SECRET_ACCESS_KEY"] = self.aws_credentials[1].reveal()
        if self.kubeconfig:
            env["KUBECONFIG"] = str(self.kubeconfig)
        if self.kfp_host:
            env["KF_PIPELINES_ENDPOINT"] = self.kfp_host
        return env

    def describe(self) -> dict:
        """What the state and the header show about the target (no secrets)."""
        return {
            "mode": self.mode,
            "region": self.region,
            "aws_profile": self.aws_profile,
            "kubeconfig": str(self.kubeconfig) if self.kubeconfig else None,
            "kfp_host": self.kfp_host,
            "namespace": self.namespace,
            "cluster": self.sandbox.get("cluster_name") if self.sandbox else None,
        }


def sandbox_target(info: dict) -> Target:
    """A target for a running sandbox, from its ``sandbox.json``."""
    services = info.get("services", {})
    creds = info.get("credentials") or {"access_key_id": "testing", "secret_access_key": "testing"}
    return Target(
        mode="sandbox",
        region=info.get("region", DEFAULT_REGION),
        aws_endpoint_url=services.get("aws", {}).get("url"),
        aws_credentials=(creds["access_key_id"], Secret(creds["secret_access_key"])),
        kubeconfig=Path(info["kubeconfig"]) if info.get("kubeconfig") else None,
        kfp_host=services.get("kfp", {}).get("url"),
        namespace=info.get("profile_namespace"),
        service_account=info.get("service_account"),
        sandbox=dict(info),
    )


def aws_target(region: str | None = None) -> Target:
    """A target for real AWS, from the standard environment (AWS_PROFILE, AWS_REGION, KUBECONFIG...)."""
    kubeconfig = os.environ.get("KUBECONFIG")
    return Target(
        mode="aws",
        region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        aws_profile=os.environ.get("AWS_PROFILE"),
        # all of it: the kubernetes client merges a list of paths as kubectl does (the first
        # file that sets a value wins), so contexts in later files are found too
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
        kfp_host=os.environ.get("KF_PIPELINES_ENDPOINT"),
    )


def resolve_target(state_dir: Path, *, sandbox: bool, region: str | None = None) -> Target:
    """The target for a command: start (or reuse) the sandbox when asked, else real AWS."""
    if sandbox:
        from wizard.extras import require_sandbox

        # the lean install has no sandbox engines: say what to install; a sandbox that is
        # installed but fails to import raises its own ImportError, reported as the bug it is
        require_sandbox()
        from wizard.sandbox import manager

        info = manager.ensure_running(state_dir, region=region)
        return sandbox_target(_as_dict(info))
    return aws_target(region)


def _as_dict(info) -> dict:
    """``sandbox.json`` as a dict, whether the manager hands back a dict or a dataclass."""
    if isinstance(info, dict):
        return info
    if hasattr(info, "to_dict"):
        return info.to_dict()
    from dataclasses import asdict, is_dataclass

    return asdict(info) if is_dataclass(info) else dict(vars(info))
