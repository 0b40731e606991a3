"""The sandbox's ACK error facts held against real ACK's generator.yaml.

When the ACK mirror is on this machine, generator.yaml of the release the sandbox mimics is read
from it (``git show v1.9.1:generator.yaml``) and every lab kind's terminal codes and not-found rule
must equal the sandbox's table. Without the mirror, the checked-in excerpt below (the same facts,
written down from that file) is used, so the test still says what the facts are.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from wizard.sandbox.ack import facts
from wizard.sandbox.ack.resources import LAB_KINDS

MIRROR = Path("/work/.mirror/aws-controllers-k8s+sagemaker-controller/repo")
RELEASE = "v1.9.1"

#: the lab kinds' ``exceptions`` of generator.yaml v1.9.1, used when the mirror is absent
EXCERPT = """
resources:
  ProcessingJob: {exceptions: {errors: {404: {code: ValidationException,
      message_prefix: Could not find requested job}}, terminal_codes: [ResourceNotFound,
      ResourceInUse, InvalidParameterCombination, InvalidParameterValue, MissingParameter]}}
  HyperParameterTuningJob: {exceptions: {errors: {404: {code: ResourceNotFound}},
      terminal_codes: [ResourceNotFound, ResourceInUse, InvalidParameterCombination,
      InvalidParameterValue, MissingParameter]}}
  TrainingJob: {exceptions: {errors: {404: {code: ValidationException,
      message_prefix: Requested resource not found}}, terminal_codes: [ResourceNotFound,
      ResourceInUse, InvalidParameterCombination, InvalidParameterValue, MissingParameter]}}
  TransformJob: {exceptions: {errors: {404: {code: ValidationException,
      message_prefix: Could not find requested job with name}}, terminal_codes: [ResourceNotFound,
      ResourceInUse, InvalidParameterCombination, InvalidParameterValue, MissingParameter]}}
  Model: {exceptions: {errors: {404: {code: ValidationException,
      message_prefix: Could not find model}}, terminal_codes: [InvalidParameterCombination,
      InvalidParameterValue, MissingParameter]}}
  EndpointConfig: {exceptions: {errors: {404: {code: ValidationException,
      message_prefix: Could not find endpoint configuration}},
      terminal_codes: [InvalidParameterCombination, InvalidParameterValue, MissingParameter]}}
  Endpoint: {exceptions: {errors: {404: {code: ValidationException,
      message_prefix: Could not find endpoint}}, terminal_codes: [InvalidParameterCombination,
      InvalidParameterValue, MissingParameter, EndpointUpdateError]}}
"""


def _generator_yaml() -> tuple[dict, str]:
    """generator.yaml of the release, from the mirror when present, else the excerpt."""
    if MIRROR.is_dir():
        shown = subprocess.run(["git", "-C", str(MIRROR), "show", f"{RELEASE}:generator.yaml"],
                               capture_output=True, text=True, timeout=60)
        if shown.returncode == 0:
            return yaml.safe_load(shown.stdout), f"{MIRROR} at {RELEASE}"
    return yaml.safe_load(EXCERPT), "the checked-in excerpt"


@pytest.mark.parametrize("kind", LAB_KINDS)
def test_facts_match_generator_yaml(kind: str) -> None:
    """Terminal codes and the not-found rule of each lab kind are generator.yaml's."""
    doc, source = _generator_yaml()
    exceptions = doc["resources"][kind]["exceptions"]
    got = facts.kind_facts(kind)
    assert got.terminal_codes == frozenset(exceptions.get("terminal_codes") or []), source
    not_found = exceptions["errors"][404]
    assert got.not_found_code == not_found["code"], source
    assert got.not_found_prefix == not_found.get("message_prefix"), source
    assert got.not_found_suffix == not_found.get("message_suffix"), source


def test_the_excerpt_is_the_release_when_the_mirror_is_here() -> None:
    """The fallback excerpt says what the release says (checked only where the mirror is)."""
    if not MIRROR.is_dir():
        pytest.skip(f"no ACK mirror at {MIRROR}; the excerpt is the only source here")
    real, _ = _generator_yaml()
    excerpt = yaml.safe_load(EXCERPT)
    for kind in LAB_KINDS:
        assert excerpt["resources"][kind]["exceptions"] == real["resources"][kind]["exceptions"]


def test_sorting_follows_the_kind() -> None:
    """The examples of issue 14: a Model missing under an EndpointConfig is recoverable, so is a
    quota; a bad parameter is terminal; not-found needs the kind's own prefix."""
    from botocore.exceptions import ClientError

    from wizard.sandbox.ack import conditions as cond

    def error(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message},
                            "ResponseMetadata": {"HTTPStatusCode": 400}}, "Op")

    missing_model = error("ValidationException", 'Could not find model "arn:aws:sagemaker:x".')
    assert not cond.is_terminal("EndpointConfig", missing_model)
    assert not cond.is_not_found("EndpointConfig", missing_model)  # not the config's own 404
    assert cond.is_not_found("Model", missing_model)
    quota = error("ResourceLimitExceeded", "The account-level service limit ...")
    assert not any(cond.is_terminal(kind, quota) for kind in LAB_KINDS)
    assert cond.is_terminal("TrainingJob", error("InvalidParameterValue", "bad"))
    assert cond.is_terminal("TrainingJob", error("ResourceInUse", "taken"))
    assert not cond.is_terminal("Model", error("ResourceInUse", "taken"))
    assert not cond.is_terminal("TrainingJob", ConnectionError("refused"))
    # the Go SDK's wording, which ACK writes into the condition
    assert cond.message_of(quota).startswith("ResourceLimitExceeded: The account-level")
    assert cond.message_of(missing_model).startswith("api error ValidationException: Could not")
