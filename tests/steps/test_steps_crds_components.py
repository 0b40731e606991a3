"""Lab steps 3–4: CRD selection from the cluster, a path or a release; components for each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.steps.conftest import run_lab, state

# resolved, as the wizard names it (../shared may be a symlink)
SHARED_CRDS = (ROOT.parent / "shared" / "ack-crds" / "v1.9.1").resolve()
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


# README's exit codes: 2 when the answer is refused before the step starts, 1 when the step
# starts and fails on it
@pytest.mark.parametrize("answers, words, code", [
    ({"crd_source": "floppy"}, "is not a CRD source", 2),
    ({"crd_source": "path"}, "no crd_path was given", 1),
    ({"crd_source": "path", "crd_path": "/no/such/dir"}, "does not exist", 2),
    ({"crd_extra_kinds": "Spaceship"}, "Unknown kinds: Spaceship", 1),
])
def test_bad_crd_inputs(lab, answers, words, code):
    result = run_lab(lab, *STEPS, answers=answers)
    assert result.returncode == code
    assert words in result.stdout + result.stderr


def test_files_that_are_not_crds_or_not_acks(lab, tmp_path):
    not_crd = tmp_path / "deployment.yaml"
    not_crd.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    result = run_lab(lab, *STEPS, answers={"crd_source": "path", "crd_path": str(not_crd)})
    assert result.returncode == 1 and "Deployment" in result.stdout + result.stderr
    other = yaml.safe_load((SHARED_CRDS / "sagemaker.services.k8s.aws_models.yaml").read_text())
    other["spec"]["group"] = "s3.services.k8s.aws"
    other["metadata"]["name"] = "models.s3.services.k8s.aws"
    foreign = tmp_path / "foreign.yaml"
    foreign.write_text(yaml.safe_dump(other))
    result = run_lab(lab, *STEPS, answers={"crd_source": "path", "crd_path": str(foreign)})
    assert result.returncode == 1 and "s3.services.k8s.aws" in result.stdout + result.stderr


def test_release_source_offline_says_so(lab):
    from tests.conftest import run_labwiz

    answers = lab.parent / "a.yaml"
    answers.write_text("crd_source: release\ncrd_release: v1.9.1\n")
    result = run_labwiz(["--state-dir", str(lab), "run", "--sandbox", "--yes", "--answers",
                         str(answers), *STEPS],
                        env={"LABWIZ_GITHUB_API": "http://127.0.0.1:9",
                             "XDG_CACHE_HOME": str(lab.parent / "cache")})
    assert result.returncode == 1  # the step starts and cannot fetch the release
    assert "offline" in (result.stdout + result.stderr).lower()


def test_auto_prefers_the_cluster_and_says_so(lab):
    """With the CRDs installed, auto takes the cluster's even when a path is given, and says why."""
    result = run_lab(lab, *STEPS, answers={"crd_path": str(SHARED_CRDS)})
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = state(lab)["steps"]["crd-selection"]["outputs"]
    assert outputs["source"] == "cluster"
    assert "using the CRDs installed in the cluster" in " ".join(result.stdout.split())
    assert f"the directory you gave ({SHARED_CRDS}) is not needed" in outputs["source_note"]


@pytest.mark.parametrize("extra, added", [
    (["modelpackage", "NotebookInstances", "TrainingJob", "trainingjobs"], {"ModelPackage", "NotebookInstance"}),
    ("Model Package", None),
])
def test_extra_kinds_from_a_list_match_any_spelling_once(lab, extra, added):
    """A YAML/JSON list (what the TUI and answers files give) or text; kind, singular or plural,
    any case; the lab's kinds are never doubled. An unknown name lists the valid ones."""
    result = run_lab(lab, *STEPS, answers={"crd_source": "path", "crd_path": str(SHARED_CRDS),
                                           "crd_extra_kinds": extra})
    if added is None:
        assert result.returncode == 1  # the names are matched against the CRDs in the step
        text = " ".join((result.stdout + result.stderr).split())
        assert "Unknown kinds: Package." in text  # "Model" is a kind: only "Package" is unknown
        assert "these CRDs have: App, DataQualityJobDefinition" in text and "UserProfile." in text
        return
    assert result.returncode == 0, result.stdout + result.stderr
    rows = state(lab)["steps"]["crd-selection"]["outputs"]["crds"]
    assert [r["kind"] for r in rows].count("TrainingJob") == 1
    assert {r["kind"] for r in rows} == LAB_KINDS | added


def test_extra_kinds_of_the_wrong_shape(lab):
    """A mapping where a list of names belongs is refused with an example of the right shape."""
    result = run_lab(lab, *STEPS, answers={"crd_extra_kinds": {"ModelPackage": True}})
    assert result.returncode == 2  # refused before the step starts
    assert "crd_extra_kinds must be a list of kind names" in result.stdout + result.stderr


def test_auto_falls_back_to_the_path_then_to_a_release(lab, kube, sandbox_info, sandbox_home,
                                                         tmp_path):
    """No ACK CRDs in the cluster: auto uses crd_path and says why; with no path either it tries
    a release, and offline says so, naming every source it passed over."""
    from kubernetes import client

    from tests.conftest import run_labwiz
    from wizard.sandbox.ack.install import install_crds

    ext = client.ApiextensionsV1Api(kube)
    removed = [c.spec.names.kind for c in ext.list_custom_resource_definition().items
               if c.spec.group == "sagemaker.services.k8s.aws"]
    assert set(removed) >= LAB_KINDS
    try:
        for crd in ext.list_custom_resource_definition().items:
            if crd.spec.group == "sagemaker.services.k8s.aws":
                ext.delete_custom_resource_definition(crd.metadata.name)
        result = run_lab(lab, *STEPS, answers={"crd_path": str(SHARED_CRDS)})
        assert result.returncode == 0, result.stdout + result.stderr
        outputs = state(lab)["steps"]["crd-selection"]["outputs"]
        assert outputs["source"] == "path"
        assert outputs["source_note"] == (f"no ACK SageMaker CRDs in the cluster; using the directory "
                                          f"you gave ({SHARED_CRDS})")
        assert "no ACK SageMaker CRDs in the cluster; using the directory you gave" in \
            " ".join(result.stdout.split())
        assert all(r["path"].startswith(str(lab)) for r in outputs["crds"])

        # a new lab on the same sandbox, with no crd_path anywhere
        fresh = tmp_path / "fresh"
        fresh.mkdir(mode=0o700)
        os.symlink(sandbox_home / "sandbox", fresh / "sandbox")
        answers = tmp_path / "release.yaml"
        answers.write_text("crd_release: v1.9.1\n")
        offline = run_labwiz(["--state-dir", str(fresh), "run", "--sandbox", "--yes", "--answers",
                              str(answers), *STEPS],
                             env={"LABWIZ_GITHUB_API": "http://127.0.0.1:9",
                                  "XDG_CACHE_HOME": str(tmp_path / "cache")})
        text = offline.stdout + offline.stderr
        assert offline.returncode == 1, text
        assert "no ACK SageMaker CRDs in the cluster; no crd_path was given; and the ACK release " \
               "could not be fetched" in " ".join(text.split()), text
        assert "looks offline" in " ".join(text.split()) and "Give crd_path" in " ".join(text.split())
    finally:
        install_crds(Path(sandbox_info["kubeconfig"]), removed)
