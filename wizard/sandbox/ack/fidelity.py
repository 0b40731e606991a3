"""Measure how closely derived CRDs match the real ACK SageMaker CRDs.

The real CRDs (``sagemaker.services.k8s.aws_<plural>.yaml``) are used only here, as the yardstick.
Two directions are measured:

- *coverage* (the target): the share of the real CRD's field names that the derived CRD also has,
  so a manifest written for real ACK is accepted and its status read under the same names;
- *precision* (reported, no target): the share of the derived CRD's field names that the real CRD
  has. Below 1.0 when botocore's model is newer than the aws-sdk-go ACK v1.9.1 was generated from
  (fields SageMaker added since), or when ACK's generator config leaves a field out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _top_schema(crd: dict) -> dict:
    """The ``openAPIV3Schema`` of a CRD's first version."""
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _fields(crd: dict, part: str) -> set[str]:
    """Top-level field names under ``spec`` or ``status``."""
    return set(_top_schema(crd)["properties"].get(part, {}).get("properties", {}))


def _paths(schema: dict, prefix: str = "") -> set[str]:
    """Every field path inside ``schema`` (arrays and maps add ``[]``/``{}``), for deep checks."""
    out: set[str] = set()
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        out.add(path)
        out |= _paths(sub, path)
    if isinstance(schema.get("items"), dict):
        out |= _paths(schema["items"], prefix + "[]")
    if isinstance(schema.get("additionalProperties"), dict):
        out |= _paths(schema["additionalProperties"], prefix + "{}")
    return out


def load_real(real_dir: Path) -> dict[str, dict]:
    """The real CRDs in ``real_dir``, keyed by kind; a clear error if there are none."""
    import yaml

    real_dir = Path(real_dir)
    files = sorted(real_dir.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(
            f"no CRD files (*.yaml) in {real_dir}; point at the directory of ACK's CRDs"
        )
    out = {}
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                out[doc["spec"]["names"]["kind"]] = doc
    return out


def _share(real: set[str], derived: set[str]) -> float:
    """Share of ``real`` found in ``derived``; 1.0 when the real side is empty."""
    return len(real & derived) / len(real) if real else 1.0


def fidelity(derived: list[dict], real_dir: Path) -> dict[str, dict[str, float]]:
    """``{kind: {"spec": share, "status": share}}`` for each derived kind with a real CRD.

    A share is the fraction of the real CRD's top-level spec (or status) field names that the
    derived CRD has, so 1.0 means every field a user of real ACK can write (or read) exists
    under the same name.
    """
    real = load_real(real_dir)
    out: dict[str, dict[str, float]] = {}
    for crd in derived:
        kind = crd["spec"]["names"]["kind"]
        if kind not in real:
            continue
        out[kind] = {
            part: _share(_fields(real[kind], part), _fields(crd, part))
            for part in ("spec", "status")
        }
    return out


def fidelity_report(derived: list[dict], real_dir: Path) -> dict[str, dict[str, Any]]:
    """Everything :func:`fidelity` measures plus detail: the fields missing or extra at the top
    level, and the deep shares (every nested field path of the real CRD's spec and status)."""
    real = load_real(real_dir)
    out: dict[str, dict[str, Any]] = {}
    for crd in derived:
        kind = crd["spec"]["names"]["kind"]
        if kind not in real:
            continue
        row: dict[str, Any] = {}
        for part in ("spec", "status"):
            want, have = _fields(real[kind], part), _fields(crd, part)
            row[part] = _share(want, have)
            row[f"{part}_precision"] = _share(have, want)
            row[f"{part}_missing"] = sorted(want - have)
            row[f"{part}_extra"] = sorted(have - want)
        for part in ("spec", "status"):
            real_paths = _paths(_top_schema(real[kind])["properties"].get(part, {}))
            derived_paths = _paths(_top_schema(crd)["properties"].get(part, {}))
            row[f"{part}_deep"] = _share(real_paths, derived_paths)
            row[f"{part}_deep_missing"] = sorted(real_paths - derived_paths)
        out[kind] = row
    return out
