"""The sandbox's ACK CRDs require, at every level, exactly what the real v1.9.1 CRDs require."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "ack-crds" / "v1.9.1"
LAB_KINDS = ("ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model",
             "EndpointConfig", "Endpoint", "TransformJob")


def _required(schema, path="", out=None) -> dict:
    """Every ``required`` list of a schema, by path."""
    out = {} if out is None else out
    if isinstance(schema, dict):
        if isinstance(schema.get("required"), list):
            out[path] = sorted(schema["required"])
        for key, sub in (schema.get("properties") or {}).items():
            _required(sub, f"{path}.{key}", out)
        if "items" in schema:
            _required(schema["items"], f"{path}[]", out)
    return out


def _spec_schema(crd: dict) -> dict:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


@pytest.mark.skipif(not REAL.is_dir(), reason="the real ACK v1.9.1 CRDs are not here")
@pytest.mark.parametrize("kind", LAB_KINDS)
def test_seeded_crd_requires_what_the_real_one_requires(kind):
    from wizard.sandbox.ack.crds import derive_crd
    from wizard.sandbox.kube.seed import with_ack_required

    real = next(d for f in REAL.glob("*.yaml") for d in [yaml.safe_load(f.read_text())]
                if d["spec"]["names"]["kind"] == kind)
    seeded = with_ack_required(derive_crd(kind))
    assert _required(_spec_schema(seeded)) == _required(_spec_schema(real))
