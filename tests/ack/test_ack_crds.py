"""Derived CRDs: fidelity against the real ACK CRDs, structural validity, and sample manifests."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ack_samples import all_samples
from wizard.sandbox.ack.crds import derive_crds
from wizard.sandbox.ack.fidelity import fidelity, fidelity_report, load_real
from wizard.sandbox.ack.resources import LAB_KINDS

REAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "ack-crds" / "v1.9.1"
TARGET = 0.95


@pytest.fixture(scope="module")
def derived() -> list[dict]:
    """The lab kinds' CRDs, derived once for the module."""
    return derive_crds()


@pytest.fixture(scope="module")
def real() -> dict[str, dict]:
    """The real ACK CRDs, keyed by kind (the reference copy must be in ../shared)."""
    assert REAL_DIR.is_dir(), f"the real ACK CRDs are not at {REAL_DIR}: clone ../shared beside"
    return load_real(REAL_DIR)


def test_fidelity_per_lab_kind(derived: list[dict], real: dict) -> None:
    """Every lab kind has at least 95 % of the real CRD's top-level spec and status fields."""
    shares = fidelity(derived, REAL_DIR)
    report = fidelity_report(derived, REAL_DIR)
    print("\nkind                      spec    status  (precision: spec status)")
    for kind, row in shares.items():
        print(f"{kind:25} {row['spec']:6.1%}  {row['status']:6.1%}"
              f"  ({report[kind]['spec_precision']:6.1%} {report[kind]['status_precision']:6.1%})")
    assert set(shares) == set(LAB_KINDS)
    for kind, row in shares.items():
        assert row["spec"] >= TARGET, (kind, fidelity_report(derived, REAL_DIR)[kind])
        assert row["status"] >= TARGET, (kind, fidelity_report(derived, REAL_DIR)[kind])


def test_deep_naming_matches_real_crds(derived: list[dict], real: dict) -> None:
    """Nested field paths too: the naming rule reproduces ACK's names below the top level."""
    report = fidelity_report(derived, REAL_DIR)
    for kind, row in report.items():
        assert row["spec_deep"] >= TARGET, (kind, row["spec_deep_missing"][:10])
        assert row["status_deep"] >= TARGET, (kind, row["status_deep_missing"][:10])


def test_fidelity_detects_a_missing_field(derived: list[dict], real: dict) -> None:
    """The measure can fail: removing a real field lowers the share."""
    crd = copy.deepcopy(next(c for c in derived if c["spec"]["names"]["kind"] == "Endpoint"))
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    del props["spec"]["properties"]["endpointConfigName"]
    del props["status"]["properties"]["endpointStatus"]
    row = fidelity([crd], REAL_DIR)["Endpoint"]
    assert row["spec"] < 1.0 and row["status"] < 1.0


def test_precision_counts_fields_real_ack_lacks(derived: list[dict], real: dict) -> None:
    """The reverse direction is measured too: a field only the derived CRD has lowers precision,
    and the extra field is named, while coverage stays at 1.0."""
    crd = copy.deepcopy(next(c for c in derived if c["spec"]["names"]["kind"] == "Model"))
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    before = fidelity_report([crd], REAL_DIR)["Model"]
    props["spec"]["properties"]["notAnAckField"] = {"type": "string"}
    after = fidelity_report([crd], REAL_DIR)["Model"]
    assert after["spec_precision"] < before["spec_precision"]
    assert "notAnAckField" in after["spec_extra"]
    assert after["spec"] == before["spec"]


def _check_structural(schema: dict, path: str, errors: list[str], root: bool = False) -> None:
    """Collect violations of Kubernetes' structural schema rules under ``schema``."""
    allowed = {"type", "properties", "items", "additionalProperties", "required", "description",
               "format", "x-kubernetes-preserve-unknown-fields", "enum", "default", "nullable"}
    extra = set(schema) - allowed
    if extra:
        errors.append(f"{path}: unsupported keys {sorted(extra)}")
    if not schema.get("type") and not schema.get("x-kubernetes-preserve-unknown-fields"):
        errors.append(f"{path}: no type")
    if "properties" in schema and "additionalProperties" in schema:
        errors.append(f"{path}: properties and additionalProperties together")
    if schema.get("type") == "array" and not isinstance(schema.get("items"), dict):
        errors.append(f"{path}: array without a single items schema")
    for name in schema.get("required") or []:
        if name not in (schema.get("properties") or {}):
            errors.append(f"{path}: required {name} is not a property")
    for name, sub in (schema.get("properties") or {}).items():
        _check_structural(sub, f"{path}.{name}", errors)
    if isinstance(schema.get("items"), dict):
        _check_structural(schema["items"], f"{path}[]", errors)
    if isinstance(schema.get("additionalProperties"), dict):
        _check_structural(schema["additionalProperties"], f"{path}{{}}", errors)


def test_every_derived_crd_is_structural() -> None:
    """All lab kinds and every other derivable kind of the real set give structural schemas."""
    from wizard.sandbox.ack.model import derivable_kinds

    kinds = sorted(set(LAB_KINDS) | {"NotebookInstance", "Domain", "FeatureGroup", "Pipeline"})
    assert set(kinds) <= set(derivable_kinds())
    for crd in derive_crds(kinds):
        version = crd["spec"]["versions"][0]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        assert crd["spec"]["group"] == "sagemaker.services.k8s.aws"
        assert crd["spec"]["scope"] == "Namespaced"
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        assert version["subresources"] == {"status": {}}
        errors: list[str] = []
        _check_structural(version["schema"]["openAPIV3Schema"], crd["spec"]["names"]["kind"],
                          errors, root=True)
        assert errors == []
        json.dumps(crd)  # serialisable as the API server receives it


def test_types_and_formats(derived: list[dict]) -> None:
    """int64, float, date-time, maps and arrays come out as ACK writes them."""
    crd = next(c for c in derived if c["spec"]["names"]["kind"] == "TrainingJob")
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    spec, status = props["spec"], props["status"]["properties"]
    assert spec["properties"]["stoppingCondition"]["properties"]["maxRuntimeInSeconds"] == {
        "type": "integer", "format": "int64"}
    assert spec["properties"]["hyperParameters"]["type"] == "object"
    assert spec["properties"]["hyperParameters"]["additionalProperties"] == {"type": "string"}
    assert spec["properties"]["inputDataConfig"]["type"] == "array"
    assert spec["properties"]["tags"]["items"]["properties"].keys() == {"key", "value"}
    assert {"trainingJobName", "roleARN", "outputDataConfig"} <= set(spec["required"])
    assert status["creationTime"]["format"] == "date-time"
    assert status["modelArtifacts"]["properties"]["s3ModelArtifacts"]["type"] == "string"
    assert status["ackResourceMetadata"]["required"] == ["ownerAccountID", "region"]
    assert set(status["conditions"]["items"]["properties"]) == {
        "type", "status", "reason", "message", "lastTransitionTime"}
    assert "trainingJobARN" not in status  # the own ARN lives in ackResourceMetadata
    ec = next(c for c in derived if c["spec"]["names"]["kind"] == "EndpointConfig")
    variant = ec["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"]["productionVariants"]["items"]["properties"]["initialVariantWeight"]
    assert variant == {"type": "number", "format": "float"}


def _closed(schema: dict) -> dict:
    """A copy of ``schema`` that rejects unknown fields, so misnamed fields fail validation."""
    schema = copy.deepcopy(schema)

    def walk(node: dict) -> None:
        """Close every object schema below ``node``."""
        if "properties" in node:
            node.setdefault("additionalProperties", False)
        for sub in (node.get("properties") or {}).values():
            walk(sub)
        if isinstance(node.get("items"), dict):
            walk(node["items"])
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"])

    walk(schema)
    return schema


def _spec_schema(crd: dict) -> dict:
    """The spec part of a CRD's schema."""
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


@pytest.mark.parametrize("sample", all_samples(), ids=lambda s: s["kind"])
def test_samples_satisfy_real_and_derived(sample: dict, derived: list[dict], real: dict) -> None:
    """ACK-style sample manifests validate against the real CRD and against the derived one."""
    import jsonschema

    kind = sample["kind"]
    mine = next(c for c in derived if c["spec"]["names"]["kind"] == kind)
    jsonschema.validate(sample["spec"], _closed(_spec_schema(real[kind])))
    jsonschema.validate(sample["spec"], _closed(_spec_schema(mine)))


def test_derived_schema_rejects_bad_shapes(derived: list[dict]) -> None:
    """The derived schema can fail: a wrong type and a misnamed field are both rejected."""
    import jsonschema

    schema = _closed(_spec_schema(next(c for c in derived
                                       if c["spec"]["names"]["kind"] == "TrainingJob")))
    sample = all_samples()[2]["spec"]
    bad_type = copy.deepcopy(sample)
    bad_type["resourceConfig"]["instanceCount"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_type, schema)
    misnamed = copy.deepcopy(sample)
    misnamed["roleArn"] = misnamed.pop("roleARN")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(misnamed, schema)


def test_unknown_kind_is_a_clear_error() -> None:
    """A kind SageMaker cannot create says which operation is missing."""
    with pytest.raises(ValueError, match="CreateNoSuchThing"):
        derive_crds(["NoSuchThing"])


@pytest.mark.parametrize("kind", LAB_KINDS)
def test_status_written_from_describe_fits_the_served_crd(kind: str, derived: list[dict],
                                                          real: dict) -> None:
    """What the builtin controller writes to status from a Describe answer that carries every
    member stays inside the status fields of the CRD the sandbox serves, so the API server
    prunes nothing and a pass that found nothing new writes nothing (it used to rewrite unset
    spec fields such as enableNetworkIsolation on every pass, waking itself with its own
    watch events). The spec fields it no longer writes are real spec fields, not status."""
    import datetime as dt

    from wizard.sandbox.ack.convert import response_to_status
    from wizard.sandbox.ack.model import operation

    output = operation(f"Describe{kind}").output_shape
    scalars = {"string": "x", "boolean": False, "integer": 1, "long": 1, "float": 1.0,
               "double": 1.0, "timestamp": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)}
    response = {m: scalars[sh.type_name] for m, sh in output.members.items()
                if sh.type_name in scalars}
    status = response_to_status(kind, response, set())
    served = next(c for c in derived if c["spec"]["names"]["kind"] == kind)
    schema = served["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert status, f"nothing of Describe{kind} reached status"
    assert sorted(set(status) - set(schema["status"]["properties"])) == []
    left_out = {m[0].lower() + m[1:] for m in response} - set(status)
    real_spec = real[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"]["properties"]
    assert {"enableNetworkIsolation"} & set(real_spec) <= left_out
