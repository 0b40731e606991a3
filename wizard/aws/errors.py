"""Turning AWS client errors into messages a learner can act on."""

from __future__ import annotations

from wizard.errors import EnvironmentProblem, LabwizError, StepError


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for other errors)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def explain(exc: BaseException, doing: str) -> LabwizError:
    """A :class:`LabwizError` for an AWS failure while ``doing`` something."""
    name = type(exc).__name__
    code = error_code(exc)
    message = str(exc)
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return EnvironmentProblem(
            f"No AWS credentials were found while {doing}.",
            remediation="Configure them with 'aws configure' (or 'aws sso login'), set AWS_PROFILE, "
            "or run offline with --sandbox.")
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
                "UnrecognizedClientException", "SignatureDoesNotMatch"):
        return EnvironmentProblem(
            f"AWS rejected your credentials while {doing} ({code}).",
            remediation="Your session has expired or the keys are wrong: refresh them ('aws sso "
            "login', or new keys in 'aws configure'), check with 'aws sts get-caller-identity', "
            "then resume.")
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        return EnvironmentProblem(
            f"AWS could not be reached while {doing}: {message}",
            remediation="Check the network (or the sandbox with 'labwiz sandbox status'), then resume.")
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return StepError(
            f"AWS denied access while {doing}: {message}",
            remediation="Your identity lacks a permission for this; ask your account admin, or check "
            "'aws sts get-caller-identity' shows the identity you expect.")
    return StepError(f"AWS failed while {doing}: {message}",
                     remediation="Check the message; 'labwiz doctor' checks the usual causes.")
