"""Helpers for the pipeline tests: generate the lab's components from a CRD source."""

from __future__ import annotations

from pathlib import Path

import yaml

from assets.pipeline.mnist_pipeline import REQUIRED_KINDS

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
V191 = SHARED / "ack-crds" / "v1.9.1"


def derived_crd_dir(tmp: Path) -> Path:
    """The sandbox's derived CRDs of the lab's kinds, written as files."""
    from wizard.sandbox.ack.crds import derive_crds

    out = tmp / "derived-crds"
    out.mkdir(parents=True, exist_ok=True)
    for crd in derive_crds(list(REQUIRED_KINDS)):
        (out / f"{crd['metadata']['name']}.yaml").write_text(yaml.safe_dump(crd))
    return out


def generate_components(crd_dir: Path, out: Path) -> tuple[dict, dict]:
    """``({kind: component.yaml}, {kind: crd dict})`` of the lab's kinds from ``crd_dir``."""
    from wizard.generator import find_crd, generate, load_crds_from_path

    crds = load_crds_from_path(crd_dir)
    paths, docs = {}, {}
    for kind in REQUIRED_KINDS:
        crd = find_crd(crds, kind)
        paths[kind] = str(generate(crd, out).component_yaml)
        docs[kind] = crd
    return paths, docs


def spec_schema(crd) -> dict:
    """The openAPI schema of a CRD's ``spec``."""
    return crd.spec_schema


def unknown_keys(value, schema: dict, path: str = "spec") -> list[str]:
    """Keys in ``value`` the schema does not declare (the CRD would prune or reject them)."""
    problems = []
    if isinstance(value, dict) and schema.get("properties") is not None:
        for key, item in value.items():
            sub = schema["properties"].get(key)
            if sub is None:
                problems.append(f"{path}.{key}")
            else:
                problems += unknown_keys(item, sub, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for number, item in enumerate(value):
            problems += unknown_keys(item, schema["items"], f"{path}[{number}]")
    return problems
