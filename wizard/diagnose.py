"""The central translation of unexpected exceptions into errors a learner can act on.

Steps translate what they expect; whatever escapes them (a dropped connection deep in a client, a
credential chain that found nothing) comes here before it is recorded, so the state and the screen
carry a message and a remediation instead of a bare exception name.
"""

from __future__ import annotations

from wizard.errors import EnvironmentProblem, LabwizError


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def translate(exc: BaseException) -> LabwizError | None:
    """A :class:`LabwizError` for a known kind of failure, or None when it is not recognised."""
    if isinstance(exc, LabwizError):
        return exc
    names = {type(e).__name__ for e in _chain(exc)}
    text = str(exc)
    if names & {"NoCredentialsError", "PartialCredentialsError"} or "Unable to locate credentials" in text:
        return EnvironmentProblem(
            "No AWS credentials were found.",
            remediation="Configure them with 'aws configure' (or 'aws sso login'), set AWS_PROFILE, "
            "or run offline with --sandbox.")
    if "ConfigException" in names and ("kube-config" in text or "kubeconfig" in text.lower()
                                         or "service host" in text.lower()):
        return EnvironmentProblem(
            f"No usable Kubernetes configuration: {text}",
            remediation="Point KUBECONFIG at your cluster's kubeconfig ('aws eks update-kubeconfig "
            "--name <cluster> --region <region>' writes one), or run offline with --sandbox.")
    if "EndpointConnectionError" in names:
        return EnvironmentProblem(f"AWS could not be reached: {text}",
                                  remediation="Check the network, or the sandbox with 'labwiz "
                                  "sandbox status', then resume.")
    if names & {"MaxRetryError", "NewConnectionError", "ConnectionRefusedError", "ConnectTimeoutError"}:
        where = "the Kubernetes API" if "/api" in text else "a service"
        if "/apis/v2beta1" in text or "pipeline" in text:
            where = "Kubeflow Pipelines"
        return EnvironmentProblem(
            f"{where} could not be reached: {text[:300]}",
            remediation="Check that 'kubectl get ns' works (KUBECONFIG, VPN, cluster up), or "
            "'labwiz sandbox status' offline; then resume.")
    return None
