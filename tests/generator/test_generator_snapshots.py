"""Snapshots of the generated files for TrainingJob and Endpoint, so template changes get reviewed.

Update them deliberately with: LABWIZ_UPDATE_SNAPSHOTS=1 pytest tests/generator/test_generator_snapshots.py
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from generator_helpers import CRD_DIR
from wizard.generator.core import generate
from wizard.generator.crds import load_crds_from_path

SNAPSHOTS = Path(__file__).with_name("snapshots")
UPDATE = os.environ.get("LABWIZ_UPDATE_SNAPSHOTS") == "1"


@pytest.mark.parametrize("plural", ["trainingjobs", "endpoints"])
def test_generated_files_match_snapshots(plural, tmp_path):
    """Each generated file equals its checked-in snapshot, byte for byte."""
    [crd] = load_crds_from_path(CRD_DIR / f"sagemaker.services.k8s.aws_{plural}.yaml")
    result = generate(crd, tmp_path)
    files = [result.module_path, result.component_yaml, result.request_template, result.readme]
    assert sorted(p.name for p in result.directory.iterdir() if p.is_file()) == sorted(p.name for p in files)
    problems = []
    for path in files:
        snap = SNAPSHOTS / crd.kind / (path.name + ".snap")
        got = path.read_text()
        if UPDATE:
            snap.parent.mkdir(parents=True, exist_ok=True)
            snap.write_text(got)
            continue
        if not snap.exists():
            problems.append(f"{snap} is missing; run with LABWIZ_UPDATE_SNAPSHOTS=1 to create it")
            continue
        want = snap.read_text()
        if got != want:
            diff = "".join(list(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                     str(snap), str(path)))[:60])
            problems.append(f"{path.name} differs from its snapshot:\n{diff}")
    assert not problems, "\n".join(problems) + "\nIf the change is intended: LABWIZ_UPDATE_SNAPSHOTS=1"
