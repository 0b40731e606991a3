"""Facts about the real ACK SageMaker controller that the sandbox's controller follows.

Each fact is data, written down from the release the sandbox mimics (sagemaker-controller
v1.9.1, built on ACK runtime v0.62.0), never code copied from it:

* per kind, which AWS error codes are *terminal* (``exceptions: terminal_codes`` in that release's
  ``generator.yaml``): every other AWS error is *recoverable*, so the controller sets
  ``ACK.Recoverable`` True with the error's text and tries again later;
* per kind, how a Describe error is recognised as "no such resource" (``exceptions: errors:
  404:``: a code, and for most kinds a message prefix);
* the wording of the condition messages (the runtime's ``pkg/condition`` constants, and the Go
  SDK's rendering of an AWS error), and the region annotation.

``tests/ack/test_ack_facts.py`` holds this table against ``generator.yaml`` read from the ACK
mirror when one is present, so the table cannot drift from the release it names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

#: the release these facts come from
ACK_RELEASE = "sagemaker-controller v1.9.1"
ACK_RUNTIME = "runtime v0.62.0"
#: ACK's annotation naming the region a resource lives in (read by the runtime's getRegion)
REGION_ANNOTATION = "services.k8s.aws/region"

#: ACK.ResourceSynced messages the runtime uses (pkg/condition)
SYNCED_MESSAGE = "Resource synced successfully"
NOT_SYNCED_MESSAGE = "Resource not synced"
UNKNOWN_SYNCED_MESSAGE = ("Unable to determine if desired resource state matches latest "
                          "observed state")


@dataclass(frozen=True)
class KindFacts:
    """What ``generator.yaml`` says of one kind's errors.

    ``not_found_code`` with ``not_found_prefix`` (or ``not_found_suffix``) is how a Describe
    error is read as "does not exist"; ``terminal_codes`` are the errors retrying cannot fix.
    """

    kind: str
    terminal_codes: frozenset[str]
    not_found_code: str
    not_found_prefix: str | None = None
    not_found_suffix: str | None = None


_JOB_TERMINAL = frozenset({"ResourceNotFound", "ResourceInUse", "InvalidParameterCombination",
                           "InvalidParameterValue", "MissingParameter"})
_HOSTING_TERMINAL = frozenset({"InvalidParameterCombination", "InvalidParameterValue",
                               "MissingParameter"})

#: the lab's kinds, as v1.9.1's generator.yaml has them
KIND_FACTS: dict[str, KindFacts] = {f.kind: f for f in (
    KindFacts("ProcessingJob", _JOB_TERMINAL, "ValidationException",
              "Could not find requested job"),
    KindFacts("HyperParameterTuningJob", _JOB_TERMINAL, "ResourceNotFound"),
    KindFacts("TrainingJob", _JOB_TERMINAL, "ValidationException",
              "Requested resource not found"),
    KindFacts("TransformJob", _JOB_TERMINAL, "ValidationException",
              "Could not find requested job with name"),
    KindFacts("Model", _HOSTING_TERMINAL, "ValidationException", "Could not find model"),
    KindFacts("EndpointConfig", _HOSTING_TERMINAL, "ValidationException",
              "Could not find endpoint configuration"),
    # EndpointUpdateError is the controller's own error for an update it refuses
    KindFacts("Endpoint", _HOSTING_TERMINAL | {"EndpointUpdateError"}, "ValidationException",
              "Could not find endpoint"),
)}


def kind_facts(kind: str) -> KindFacts:
    """The facts of ``kind``; a ValueError names the kinds that have them."""
    try:
        return KIND_FACTS[kind]
    except KeyError:
        raise ValueError(f"no ACK error facts for {kind!r}; known: {', '.join(KIND_FACTS)}") \
            from None


def is_terminal_code(kind: str, code: str) -> bool:
    """Whether ACK treats AWS error ``code`` as terminal for ``kind``."""
    return code in kind_facts(kind).terminal_codes


def is_not_found(kind: str, code: str, message: str) -> bool:
    """Whether a Describe error ``(code, message)`` means "no such resource" for ``kind``.

    As ACK's generated ReadOne does: the code must match, and the message must start (or end)
    with the kind's configured text when one is configured.
    """
    facts = kind_facts(kind)
    if code != facts.not_found_code:
        return False
    if facts.not_found_prefix is not None:
        return message.startswith(facts.not_found_prefix)
    if facts.not_found_suffix is not None:
        return message.endswith(facts.not_found_suffix)
    return True


@functools.lru_cache(maxsize=1)
def modeled_error_codes() -> frozenset[str]:
    """The error codes SageMaker's API model declares (botocore's model, as the Go SDK's).

    The Go SDK renders a declared error as ``Code: message`` and any other as
    ``api error Code: message``; ACK puts that text in the condition's message.
    """
    from wizard.sandbox.ack.model import service_model

    model = service_model()
    return frozenset(model.shape_for(name).name for name in model.shape_names
                     if model.shape_for(name).metadata.get("exception"))


def error_text(code: str, message: str) -> str:
    """An AWS error as the real controller writes it into a condition's message."""
    if code in modeled_error_codes():
        return f"{code}: {message}"
    return f"api error {code}: {message}"
