"""The lab pipeline compiles from generated components (real v1.9.1 CRDs and the sandbox's),
its glue produces specs the CRDs accept, and packages are checked and reproducible."""

from __future__ import annotations

import json

import pytest

from assets.pipeline import glue, naming
from assets.pipeline.mnist_pipeline import PARAMETERS, TASKS, PipelineDefinitionError
from tests.pipeline.pipeline_helpers import (V191, derived_crd_dir, generate_components,
                                             unknown_keys)
from wizard.errors import InputError
from wizard.kfp_ops import package
from wizard.kfp_ops.images import processing_image_uri
from wizard.kmeans_images import kmeans_image_uri

RUN_ID = "3f2a9c1e-77aa-4bcd-9e01-123456789abc"


@pytest.fixture(scope="module", params=["v1.9.1", "derived"])
def generated(request, tmp_path_factory):
    """Components and CRDs of the lab's kinds, from the real release and from the sandbox."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "v1.9.1":
        assert V191.is_dir(), f"the shared v1.9.1 CRDs are not at {V191}: clone ../shared beside"
        crd_dir = V191
    else:
        crd_dir = derived_crd_dir(tmp)
    paths, crds = generate_components(crd_dir, tmp / "components")
    return tmp, paths, crds


def _plan_args() -> dict:
    """The plan component's arguments for a sample run."""
    return dict(
        run_id=RUN_ID, bucket="lab-bucket", prefix="lab1",
        role_arn="arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        processing_image=processing_image_uri("eu-west-1"),
        kmeans_image=kmeans_image_uri("eu-west-1"), data_uri="", script_uri="",
        processing_instance_type="ml.m5.xlarge", training_instance_type="ml.m5.xlarge",
        endpoint_instance_type="ml.m5.large", transform_instance_type="ml.m5.large",
        max_jobs=2, max_parallel_jobs=2)


def _plan() -> dict:
    """The plan component's outputs for a sample run, as a dict."""
    return glue.plan.python_func(**_plan_args())._asdict()


def test_compiles_with_every_task_and_parameter(generated):
    """The pipeline compiles, loads back from the archive, and has the lab's tasks and inputs."""
    tmp, paths, _ = generated
    yaml_path, tar_path = package.compile_package(
        paths, tmp / "out", region="eu-west-1", bucket="b", role_arn="arn:aws:iam::1:role/r")
    spec = package.read_spec(tar_path)
    package.check_spec(spec, TASKS, PARAMETERS)
    assert spec == package.read_spec(yaml_path)
    defaults = {k: v.get("defaultValue") for k, v in
                spec["root"]["inputDefinitions"]["parameters"].items()}
    assert defaults["kmeans_image"] == kmeans_image_uri("eu-west-1")
    assert defaults["bucket"] == "b"
    # the transform job's optional ints are passed (kfp.local's int(None) bug)
    transform = next(t for t in spec["root"]["dag"]["tasks"].values()
                     if t["taskInfo"]["name"] == "batch-transform")
    assert {"max_concurrent_transforms", "max_payload_in_mb"} <= set(transform["inputs"]["parameters"])


def test_every_sagemaker_task_gets_the_lineage_and_the_run_id(generated):
    """The lineage parameter (default: the lab's) and the run id reach each generated component."""
    tmp, paths, _ = generated
    yaml_path, _ = package.compile_package(paths, tmp / "lineage", region="eu-west-1", bucket="b",
                                           role_arn="", lineage="5d1e0c7a-lab")
    spec = package.read_spec(yaml_path)
    assert spec["root"]["inputDefinitions"]["parameters"]["lineage"]["defaultValue"] == "5d1e0c7a-lab"
    sagemaker_tasks = {"processing", "tuning", "training", "model", "endpoint-config", "endpoint",
                       "batch-transform"}
    seen = set()
    for task in spec["root"]["dag"]["tasks"].values():
        name = task["taskInfo"]["name"]
        if name not in sagemaker_tasks:
            continue
        seen.add(name)
        params = task["inputs"]["parameters"]
        assert params["lineage"]["componentInputParameter"] == "lineage", name
        assert params["run_id"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}", name
    assert seen == sagemaker_tasks


def test_every_sagemaker_task_gets_the_region(generated):
    """The pipeline's region reaches every generated component (ACK's region annotation), so
    SageMaker work happens in the lab's region, not the ACK controller's default one; so do the
    two waiting bounds."""
    tmp, paths, _ = generated
    yaml_path, _ = package.compile_package(paths, tmp / "region", region="us-west-2", bucket="b",
                                           role_arn="")
    spec = package.read_spec(yaml_path)
    assert spec["root"]["inputDefinitions"]["parameters"]["region"]["defaultValue"] == "us-west-2"
    sagemaker_tasks = {"processing", "tuning", "training", "model", "endpoint-config", "endpoint",
                       "batch-transform"}
    for name in ("region", "recoverable_timeout_seconds", "controller_timeout_seconds"):
        wired = {task["taskInfo"]["name"] for task in spec["root"]["dag"]["tasks"].values()
                 if (task["inputs"]["parameters"].get(name) or {}).get("componentInputParameter")
                 == name}
        assert wired == sagemaker_tasks, name


def test_a_fixed_endpoint_name_replaces_the_per_run_one():
    """endpoint_name, when given, names the endpoint (a rerun then updates it); the rest keep
    the per-run names."""
    fixed = glue.plan.python_func(**{**_plan_args(), "endpoint_name": " lab-endpoint "})
    assert fixed.ep_name == "lab-endpoint"
    assert fixed.model_name == naming.resource_names(RUN_ID)["model"]
    assert _plan()["ep_name"] == naming.resource_names(RUN_ID)["ep"]


def test_components_without_lineage_inputs_still_build(generated, tmp_path):
    """Components generated before the lineage inputs existed: the pipeline builds without them."""
    import yaml

    _, paths, _ = generated
    old = {}
    for kind, path in paths.items():
        doc = yaml.safe_load(open(path))
        for comp in doc["components"].values():
            for name in ("lineage", "run_id"):
                comp["inputDefinitions"]["parameters"].pop(name, None)
        old[kind] = tmp_path / f"{kind}.yaml"
        old[kind].write_text(yaml.safe_dump(doc))
    yaml_path, _ = package.compile_package({k: str(v) for k, v in old.items()}, tmp_path / "out",
                                           region="eu-west-1", bucket="b", role_arn="")
    tasks = package.read_spec(yaml_path)["root"]["dag"]["tasks"].values()
    assert not any("lineage" in (t.get("inputs") or {}).get("parameters", {}) for t in tasks)


def test_compile_is_reproducible(generated):
    """Compiling twice gives byte-identical packages (so skip-if-unchanged works)."""
    tmp, paths, _ = generated
    first = package.compile_package(paths, tmp / "a", region="eu-west-1", bucket="b", role_arn="")
    second = package.compile_package(paths, tmp / "b", region="eu-west-1", bucket="b", role_arn="")
    assert package.sha256_file(first[1]) == package.sha256_file(second[1])
    assert package.sha256_file(first[0]) == package.sha256_file(second[0])


def test_glue_specs_fit_the_crds(generated):
    """Every spec the plan writes uses only keys the CRD declares (no pruned fields)."""
    _, _, crds = generated
    plan = _plan()
    spec_of = {kind: crd.spec_schema for kind, crd in crds.items()}

    def check(kind, field, value):
        """The value of ``kind``'s spec field uses only declared keys."""
        schema = spec_of[kind]["properties"][field]
        assert unknown_keys(value, schema, f"{kind}.{field}") == []

    check("ProcessingJob", "appSpecification", plan["proc_app"])
    check("ProcessingJob", "processingInputs", plan["proc_inputs"])
    check("ProcessingJob", "processingOutputConfig", plan["proc_outputs"])
    check("ProcessingJob", "processingResources", plan["proc_resources"])
    check("HyperParameterTuningJob", "hyperParameterTuningJobConfig", plan["hpo_config"])
    check("HyperParameterTuningJob", "trainingJobDefinition", plan["hpo_definition"])
    check("TrainingJob", "algorithmSpecification", plan["algorithm"])
    check("TrainingJob", "inputDataConfig", plan["channels"])
    check("EndpointConfig", "productionVariants", plan["variants"])
    check("TransformJob", "transformInput", plan["bt_input"])
    check("TransformJob", "transformOutput", plan["bt_output"])
    check("Model", "primaryContainer", glue.model_container.python_func(
        model_artifacts=json.dumps({"s3ModelArtifacts": "s3://b/m.tar.gz"}), image="i").container)


def test_plan_names_match_the_naming_scheme():
    """The names the pipeline gives resources are the ones monitoring and cleanup compute."""
    plan = _plan()
    expected = naming.resource_names(RUN_ID)
    assert {role: plan[f"{role}_name"] for role in naming.ROLES} == expected
    assert expected["hpo"] == "mnist-hpo-3f2a9c1e77"
    assert all(len(n) <= 32 for n in expected.values())  # tuning job names: 32 at most
    cfg = plan["hpo_config"]
    assert cfg["hyperParameterTuningJobObjective"] == {"type_": "Minimize", "metricName": "test:msd"}
    assert plan["static_hp"] == {"k": "10", "feature_dim": "784"}
    assert plan["proc_inputs"][0]["s3Input"]["s3URI"] == "s3://lab-bucket/lab1/source_data/mnist.pkl.gz"


def test_best_hyperparameters_merges_and_refuses_empty():
    """The tuned values win for tuned keys, static ones are added; no best job is an error."""
    best = json.dumps({"trainingJobName": "t-1", "tunedHyperParameters": {
        "mini_batch_size": "\"512\"", "init_method": "kmeans++"}})
    merged = glue.best_hyperparameters.python_func(best_training_job=best,
                                                  static_hyperparameters={"k": "10"})
    assert merged == {"mini_batch_size": "512", "init_method": "kmeans++", "k": "10"}
    with pytest.raises(ValueError, match="tunedHyperParameters"):
        glue.best_hyperparameters.python_func(best_training_job="null", static_hyperparameters={})


def test_missing_component_and_non_pipeline_files(tmp_path, generated):
    """A missing component and a file that is not a pipeline give errors saying what to do."""
    _, paths, _ = generated
    partial = {k: v for k, v in paths.items() if k != "Endpoint"}
    with pytest.raises(InputError, match="Endpoint component is missing"):
        package.compile_package(partial, tmp_path, region="eu-west-1", bucket="b", role_arn="")
    text = tmp_path / "notes.yaml"
    text.write_text("hello: world\n")
    with pytest.raises(InputError, match="not a KFP v2 pipeline package"):
        package.read_spec(text)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(InputError, match="not a pipeline package"):
        package.read_spec(junk)
    assert issubclass(PipelineDefinitionError, ValueError)


def test_unknown_region_for_processing_image():
    """A region without a known scikit-learn image is refused with the list of regions."""
    with pytest.raises(InputError, match="scikit-learn image"):
        processing_image_uri("mars-north-1")
