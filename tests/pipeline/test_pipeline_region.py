"""The lab's pipeline run in a region other than the ACK controller's default, then run again.

The sandbox (and so its ACK controller's default region) is eu-west-1; the pipeline is compiled
and run with region us-west-2 through the sandbox's KFP. Every SageMaker resource of the run must
be in us-west-2 and none in eu-west-1, as boto3 lists them per region (an observer other than
the controller that made them). A second run naming the same endpoint updates that endpoint to
the second run's endpoint config instead of failing on it.
"""

from __future__ import annotations

import warnings

import pytest

from assets.pipeline import naming
from tests.pipeline.pipeline_helpers import derived_crd_dir, generate_components

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
LAB_REGION = "us-west-2"
ENDPOINT = "mnist-ep-region-lab"
#: boto3 list call, its result key, and the name field, per SageMaker kind the run makes
LISTINGS = {
    "proc": ("list_processing_jobs", "ProcessingJobSummaries", "ProcessingJobName"),
    "hpo": ("list_hyper_parameter_tuning_jobs", "HyperParameterTuningJobSummaries",
            "HyperParameterTuningJobName"),
    "train": ("list_training_jobs", "TrainingJobSummaries", "TrainingJobName"),
    "model": ("list_models", "Models", "ModelName"),
    "epc": ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
    "ep": ("list_endpoints", "Endpoints", "EndpointName"),
    "bt": ("list_transform_jobs", "TransformJobSummaries", "TransformJobName"),
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A sandbox in eu-west-1 with the lab's data uploaded, and the lab's components."""
    import boto3

    from wizard.sandbox import manager
    from wizard.sandbox.mnist import build_mnist_pkl_gz

    state = tmp_path_factory.mktemp("region-lab")
    info = manager.up(state, region="eu-west-1").to_dict()
    try:
        def aws(service, region):
            return boto3.client(service, endpoint_url=info["services"]["aws"]["url"],
                                region_name=region, aws_access_key_id="testing",
                                aws_secret_access_key="testing")

        s3 = aws("s3", info["region"])
        s3.upload_file(str(build_mnist_pkl_gz(state / "mnist.pkl.gz")), info["bucket"],
                       "lab1/source_data/mnist.pkl.gz")
        s3.upload_file("assets/scripts/preprocess.py", info["bucket"],
                       "lab1/processing_code/kmeans_preprocessing.py")
        components, _ = generate_components(derived_crd_dir(state), state / "components")
        _allow_pipeline_pods(info)
        yield info, aws, components, state
    finally:
        manager.down(state)


def _allow_pipeline_pods(info):
    """The Role the lab's RBAC step gives the profile's default-editor on ACK resources (as
    wizard/k8s.py ensure_ack_rbac makes it: every verb, update included)."""
    from kubernetes import client, config

    api = client.RbacAuthorizationV1Api(config.new_client_from_config(config_file=info["kubeconfig"]))
    ns, name = info["profile_namespace"], "labwiz-ack-sagemaker"
    api.create_namespaced_role(ns, {"metadata": {"name": name}, "rules": [
        {"apiGroups": ["sagemaker.services.k8s.aws"], "resources": ["*"], "verbs": ["*"]}]})
    api.create_namespaced_role_binding(ns, {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "default-editor", "namespace": ns}]})


def _run(info, components, out, run_name):
    """Compile for the lab's region, run through the sandbox's KFP, wait; the run's id."""
    import kfp

    from wizard.kfp_ops import package

    yaml_path, _ = package.compile_package(components, out, region=LAB_REGION,
                                           bucket=info["bucket"],
                                           role_arn=info["execution_role_arn"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = kfp.Client(host=info["services"]["kfp"]["url"])
    run = client.create_run_from_pipeline_package(
        str(yaml_path), run_name=run_name,
        arguments={"poll_interval_seconds": 1, "max_jobs": 1, "max_parallel_jobs": 1,
                   "endpoint_name": ENDPOINT})
    done = client.wait_for_run_completion(run.run_id, 600, 2.0)
    assert str(done.state) == "SUCCEEDED", (done.state, done.error)
    return run.run_id


def _names(sm, role):
    """The names SageMaker lists for one kind in the client's region."""
    call, key, field = LISTINGS[role]
    return {item[field] for item in getattr(sm, call)(MaxResults=100)[key]}


def test_every_resource_is_in_the_labs_region_and_a_rerun_updates_the_endpoint(sandbox):
    info, aws, components, state = sandbox
    assert info["region"] != LAB_REGION  # the controller's default is not the lab's region
    first = naming.resource_names(_run(info, components, state / "run1", "region-1"))
    first["ep"] = ENDPOINT
    here, there = aws("sagemaker", LAB_REGION), aws("sagemaker", info["region"])
    for role, name in first.items():
        assert name in _names(here, role), f"{role} {name} is not in {LAB_REGION}"
        assert name not in _names(there, role), f"{role} {name} is in {info['region']}"
    endpoint = here.describe_endpoint(EndpointName=ENDPOINT)
    assert f":sagemaker:{LAB_REGION}:" in endpoint["EndpointArn"]
    assert endpoint["EndpointConfigName"] == first["epc"]

    # run again (a new model): the same endpoint moves to the new run's endpoint config
    second = naming.resource_names(_run(info, components, state / "run2", "region-2"))
    updated = here.describe_endpoint(EndpointName=ENDPOINT)
    assert updated["EndpointStatus"] == "InService"
    assert updated["EndpointConfigName"] == second["epc"] != first["epc"]
    assert updated["EndpointArn"] == endpoint["EndpointArn"]  # updated, not made anew
    assert second["model"] in _names(here, "model") and ENDPOINT not in _names(there, "ep")
    answer = aws("sagemaker-runtime", LAB_REGION).invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="text/csv", Body=",".join(["0"] * 784))
    assert "predictions" in answer["Body"].read().decode()
