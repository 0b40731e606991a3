"""CRD loading: real v1.9.1 files, multi-document files, and every kind of bad input."""
from __future__ import annotations

import pytest
import yaml

from generator_helpers import CRD_DIR
from wizard.generator.crds import find_crd, load_crds_from_path, parse_crd
from wizard.generator.errors import CrdError


def test_directory_loads_every_crd_with_its_facts():
    """All 26 files load; TrainingJob's facts come straight from the CRD."""
    crds = load_crds_from_path(CRD_DIR)
    assert len(crds) == len(list(CRD_DIR.glob("*.yaml"))) == 26
    tj = find_crd(crds, "TrainingJob")
    assert (tj.plural, tj.group, tj.version) == ("trainingjobs", "sagemaker.services.k8s.aws", "v1alpha1")
    assert "roleARN" in tj.required and "trainingJobStatus" in tj.status_fields
    assert tj.summary == "Contains information about a training job."
    assert tj.file_name == "sagemaker.services.k8s.aws_trainingjobs.yaml"
    assert all("\n" not in c.summary and c.summary for c in crds)


def test_model_package_without_spec_required_loads():
    """ModelPackage has no spec.required: it loads with nothing required."""
    [mp] = load_crds_from_path(CRD_DIR / "sagemaker.services.k8s.aws_modelpackages.yaml")
    assert mp.kind == "ModelPackage" and mp.required == () and len(mp.spec_fields) == 20


@pytest.mark.parametrize("name", ["TrainingJob", "trainingjob", "trainingjobs",
                                  "sagemaker.services.k8s.aws_trainingjobs.yaml",
                                  "trainingjobs.sagemaker.services.k8s.aws"])
def test_find_by_kind_plural_or_file_name(name):
    """Every spelling a learner might use finds the same CRD."""
    assert find_crd(load_crds_from_path(CRD_DIR), name).kind == "TrainingJob"


def test_unknown_kind_names_the_known_ones_and_a_suggestion():
    """A typo gets a suggestion and the list of kinds."""
    with pytest.raises(CrdError) as err:
        find_crd(load_crds_from_path(CRD_DIR), "TrainingJobs2", "v1.9.1")
    text = str(err.value)
    assert "no CRD named 'TrainingJobs2' in v1.9.1" in text and "Did you mean TrainingJob?" in text
    assert "ModelPackageGroup" in text


def test_multi_document_file(tmp_path):
    """Several CRDs in one file (---) all load, in order."""
    docs = [yaml.safe_load((CRD_DIR / f"sagemaker.services.k8s.aws_{p}.yaml").read_text())
            for p in ("models", "endpoints")]
    f = tmp_path / "two.yaml"
    f.write_text(yaml.safe_dump_all(docs))
    assert [c.kind for c in load_crds_from_path(f)] == ["Model", "Endpoint"]


def test_missing_file_says_so(tmp_path):
    """A missing path names the path and the alternative."""
    with pytest.raises(CrdError, match=r"CRD file not found: .*nope\.yaml\. Check the path"):
        load_crds_from_path(tmp_path / "nope.yaml")


def test_yaml_that_is_not_a_crd_says_what_it_is(tmp_path):
    """A Deployment manifest is named as such, with the file."""
    f = tmp_path / "deploy.yaml"
    f.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n")
    with pytest.raises(CrdError) as err:
        load_crds_from_path(f)
    assert str(f) in str(err.value)
    assert "a Deployment (apps/v1) named web, not a CustomResourceDefinition" in str(err.value)


def test_plain_mapping_and_invalid_yaml(tmp_path):
    """A mapping without kind, and broken YAML, both get precise messages."""
    plain = tmp_path / "values.yaml"
    plain.write_text("replicas: 2\nimage: x\n")
    with pytest.raises(CrdError, match=r"a YAML mapping with no 'kind' \(keys: replicas, image\)"):
        load_crds_from_path(plain)
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    with pytest.raises(CrdError, match=r"broken\.yaml: not valid YAML at line"):
        load_crds_from_path(broken)


def test_crd_of_another_group_is_refused(tmp_path):
    """A CRD from another API group names its group."""
    doc = yaml.safe_load((CRD_DIR / "sagemaker.services.k8s.aws_models.yaml").read_text())
    doc["spec"]["group"] = "s3.services.k8s.aws"
    doc["metadata"]["name"] = "buckets.s3.services.k8s.aws"
    f = tmp_path / "bucket.yaml"
    f.write_text(yaml.safe_dump(doc))
    with pytest.raises(CrdError, match=r"bucket\.yaml: CRD buckets\.s3\.services\.k8s\.aws belongs to "
                                        r"API group 's3\.services\.k8s\.aws', not sagemaker"):
        load_crds_from_path(f)


def test_directory_with_a_stray_file_names_it(tmp_path):
    """One non-CRD file in a directory fails the load, naming that file; kustomization is skipped."""
    (tmp_path / "a.yaml").write_text((CRD_DIR / "sagemaker.services.k8s.aws_models.yaml").read_text())
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\n")
    assert [c.kind for c in load_crds_from_path(tmp_path)] == ["Model"]
    (tmp_path / "notes.yaml").write_text("- just\n- a list\n")
    with pytest.raises(CrdError, match=r"notes\.yaml: this is a YAML list, not a mapping"):
        load_crds_from_path(tmp_path)


def test_crd_without_spec_properties_is_refused():
    """A CRD whose schema has no spec fields cannot make inputs."""
    doc = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.sagemaker.services.k8s.aws"},
           "spec": {"group": "sagemaker.services.k8s.aws", "names": {"kind": "Thing", "plural": "things"},
                    "versions": [{"name": "v1alpha1", "storage": True,
                                  "schema": {"openAPIV3Schema": {"properties": {"spec": {}}}}}]}}
    with pytest.raises(CrdError, match="has no spec properties"):
        parse_crd(doc, "inline")
