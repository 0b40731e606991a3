"""Every v1.9.1 CRD generates, compiles with kfp, and maps back to 100 % of its top-level spec fields."""
from __future__ import annotations

import ast

import pytest
import yaml

from generator_helpers import CRD_DIR
from wizard.generator.core import generate
from wizard.generator.crds import load_crds_from_path
from wizard.generator.model import RUNTIME_INPUTS

FILES = sorted(CRD_DIR.glob("*.yaml"))


def test_every_crd_of_the_release_is_found():
    """v1.9.1 has 26 CRDs: fewer found means the cases below silently test less."""
    assert len(FILES) == 26, f"{len(FILES)} CRD files in {CRD_DIR}"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    """One output directory shared by the module's cases."""
    return tmp_path_factory.mktemp("components")


@pytest.mark.parametrize("crd_file", FILES, ids=[f.name.split("_")[1].removesuffix(".yaml") for f in FILES])
def test_crd_generates_compiles_and_round_trips(crd_file, out_dir):
    """Compiled inputs = spec fields + runtime inputs; the table maps back to every exact CRD key."""
    raw = yaml.safe_load(crd_file.read_text())
    spec_schema = raw["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    crd_keys = set(spec_schema["properties"])
    required = set(spec_schema.get("required") or [])
    [crd] = load_crds_from_path(crd_file)
    result = generate(crd, out_dir)

    # the mapping table, read from the generated source (not from our own model objects)
    module = ast.parse(result.module_path.read_text())
    table = next(ast.literal_eval(n.value) for n in module.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "COMPONENT")
    assert {f["key"] for f in table["fields"].values()} == crd_keys          # 100 %, nothing dropped
    assert len(table["fields"]) == len(crd_keys)                              # and one input per key
    assert {f["key"] for f in table["fields"].values() if f["required"]} == required
    # where the lineage tags go: every kind with SageMaker tags (all but PipelineExecution)
    assert table["tags_key"] == ("tags" if "tags" in crd_keys else None)

    compiled = yaml.safe_load(result.component_yaml.read_text())
    [comp] = compiled["components"].values()
    params = comp["inputDefinitions"]["parameters"]
    assert set(params) == set(table["fields"]) | set(RUNTIME_INPUTS)
    for name, field in table["fields"].items():
        assert params[name].get("isOptional", False) is (not field["required"]), name
        assert "defaultValue" not in params[name], name  # optional means omitted, never an empty value
        want = {"string": "STRING", "integer": "NUMBER_INTEGER", "number": "NUMBER_DOUBLE",
                "boolean": "BOOLEAN", "object": "STRUCT", "array": "LIST"}[field["type"]]
        assert params[name]["parameterType"] == want, name
    outputs = set(comp["outputDefinitions"]["parameters"])
    status_keys = set(raw["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
                      .get("status", {}).get("properties", {}))
    assert set(table["outputs"].values()) == status_keys
    assert outputs == set(table["outputs"]) | {"ack_resource_arn", "resource_name"}
    executor = next(iter(compiled["deploymentSpec"]["executors"].values()))["container"]
    assert executor["image"] == "python:3.11-slim"
    assert "kubernetes==30.1.0" in " ".join(executor["command"])
    assert "import labwiz" not in result.module_path.read_text() and "from wizard" not in result.module_path.read_text()


def test_lossy_names_of_the_old_generator_survive(out_dir):
    """The keys a camel->snake->camel round trip used to lose map back exactly."""
    crds = {c.kind: c for c in load_crds_from_path(CRD_DIR)}
    expect = {"Model": ("execution_role_arn", "executionRoleARN"),
              "EndpointConfig": ("kms_key_id", "kmsKeyID"),
              "TransformJob": ("max_payload_in_mb", "maxPayloadInMB")}
    for kind, (name, key) in expect.items():
        assert generate(crds[kind], out_dir).input_map[name] == key


def test_image_override(out_dir):
    """--image replaces the base image in the compiled component."""
    [crd] = load_crds_from_path(CRD_DIR / "sagemaker.services.k8s.aws_models.yaml")
    result = generate(crd, out_dir / "img", image="registry.example/lab/python:3.11")
    compiled = yaml.safe_load(result.component_yaml.read_text())
    assert next(iter(compiled["deploymentSpec"]["executors"].values()))["container"]["image"] == \
        "registry.example/lab/python:3.11"
