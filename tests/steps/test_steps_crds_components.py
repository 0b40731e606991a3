"""Lab steps 3–4: CRD selection from the cluster, a path or a release; components for each."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.steps.conftest import run_lab, state

SHARED_CRDS = ROOT.parent / "shared" / "ack-crds" / "v1.9.1"
STEPS = ("--only", "crd-selection,component-generation")
LAB_KINDS = {"ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model", "EndpointConfig",
             "Endpoint", "TransformJob"}


def test_from_the_cluster_generates_the_lab_kinds(lab):
    result = run_lab(lab, *STEPS)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = state(lab)
    assert {c["kind"] for c in doc["steps"]["crd-selection"]["outputs"]["crds"]} == LAB_KINDS
    components = doc["steps"]["component-generation"]["outputs"]["components"]
    assert set(components) == LAB_KINDS
    spec = yaml.safe_load(Path(components["TrainingJob"]).read_text())
    assert "role_arn" in spec["root"]["inputDefinitions"]["parameters"]


def test_from_a_path_with_extra_kinds(lab):
    result = run_lab(lab, *STEPS, answers={"crd_source": "path", "crd_path": str(SHARED_CRDS),
                                           "crd_extra_kinds": "ModelPackage, notebookinstances"})
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = set(state(lab)["steps"]["component-generation"]["outputs"]["components"])
    assert kinds == LAB_KINDS | {"ModelPackage", "NotebookInstance"}


def test_deleted_component_is_regenerated(lab):
    assert run_lab(lab, *STEPS).returncode == 0
    path = Path(state(lab)["steps"]["component-generation"]["outputs"]["components"]["Model"])
    path.unlink()
    result = run_lab(lab, *STEPS)
    assert result.returncode == 0 and "the Model component" in result.stdout and path.exists()


@pytest.mark.parametrize("answers, words", [
    ({"crd_source": "floppy"}, "is not a CRD source"),
    ({"crd_source": "path"}, "no crd_path was given"),
    ({"crd_source": "path", "crd_path": "/no/such/dir"}, "does not exist"),
    ({"crd_extra_kinds": "Spaceship"}, "Unknown kinds: Spaceship"),
])
def test_bad_crd_inputs(lab, answers, words):
    result = run_lab(lab, *STEPS, answers=answers)
    assert result.returncode in (1, 2)
    assert words in result.stdout + result.stderr


def test_files_that_are_not_crds_or_not_acks(lab, tmp_path):
    not_crd = tmp_path / "deployment.yaml"
    not_crd.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    result = run_lab(lab, *STEPS, answers={"crd_source": "path", "crd_path": str(not_crd)})
    assert result.returncode in (1, 2) and "Deployment" in result.stdout + result.stderr
    other = yaml.safe_load((SHARED_CRDS / "sagemaker.services.k8s.aws_models.yaml").read_text())
    other["spec"]["group"] = "s3.services.k8s.aws"
    other["metadata"]["name"] = "models.s3.services.k8s.aws"
    foreign = tmp_path / "foreign.yaml"
    foreign.write_text(yaml.safe_dump(other))
    result = run_lab(lab, *STEPS, answers={"crd_source": "path", "crd_path": str(foreign)})
    assert result.returncode in (1, 2) and "s3.services.k8s.aws" in result.stdout + result.stderr


def test_release_source_offline_says_so(lab):
    from tests.conftest import run_labwiz

    answers = lab.parent / "a.yaml"
    answers.write_text("crd_source: release\ncrd_release: v1.9.1\n")
    result = run_labwiz(["--state-dir", str(lab), "run", "--sandbox", "--yes", "--answers",
                         str(answers), *STEPS],
                        env={"LABWIZ_GITHUB_API": "http://127.0.0.1:9",
                             "XDG_CACHE_HOME": str(lab.parent / "cache")})
    assert result.returncode in (1, 2)
    assert "offline" in (result.stdout + result.stderr).lower()
