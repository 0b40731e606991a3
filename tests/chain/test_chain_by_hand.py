"""The lab's chain created by hand as ACK custom resources, against the running sandbox.

processing → tuning → training → model → endpoint config → endpoint, and transform, through the
kubernetes client only; then the endpoint is invoked through boto3 and its answer checked against
the nearest centroid of the model the training job wrote.
"""

from __future__ import annotations

import gzip
import json
import pickle

import numpy as np
import pytest

from chain_lab import cluster_purity, run_chain, trained_centroids

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A running sandbox with the lab's data and script uploaded, as after steps 1–2."""
    from wizard.sandbox import manager
    from wizard.sandbox.mnist import build_mnist_pkl_gz

    state = tmp_path_factory.mktemp("chain")
    info = manager.up(state).to_dict()
    import boto3

    def aws(service):
        return boto3.client(service, endpoint_url=info["services"]["aws"]["url"],
                            region_name=info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    data = build_mnist_pkl_gz(state / "mnist.pkl.gz")
    s3 = aws("s3")
    s3.upload_file(str(data), info["bucket"], "lab1/source_data/mnist.pkl.gz")
    s3.upload_file("assets/scripts/preprocess.py", info["bucket"],
                   "lab1/processing_code/kmeans_preprocessing.py")
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=info["kubeconfig"], client_configuration=configuration)
    yield {"info": info, "aws": aws, "data": data,
           "custom": client.CustomObjectsApi(client.ApiClient(configuration))}
    manager.down(state)


def test_chain_of_custom_resources_serves_the_nearest_centroid(sandbox):
    stages = []
    chain = run_chain(sandbox["info"], sandbox["custom"], "chainbyhand01",
                      on_stage=lambda name, seconds: stages.append(name))
    assert stages == ["processing", "tuning", "training", "model", "endpoint config", "endpoint",
                      "transform"]
    artifact = chain["training"]["modelArtifacts"]["s3ModelArtifacts"]
    transform_out = chain["plan"].bt_output["s3OutputPath"]
    listed = sandbox["aws"]("s3").list_objects_v2(
        Bucket=sandbox["info"]["bucket"], Prefix=transform_out.split("/", 3)[3])
    assert listed.get("KeyCount", 0) >= 1, f"batch transform wrote nothing under {transform_out}"

    # the model the training job wrote: its centroids
    centroids = trained_centroids(sandbox["aws"]("s3"), artifact)
    assert centroids.shape == (10, 784)
    with gzip.open(sandbox["data"], "rb") as fh:
        _, _, (test_x, test_y) = pickle.load(fh, encoding="latin1")
    runtime = sandbox["aws"]("sagemaker-runtime")
    for digit in test_x[:5]:
        body = ",".join(f"{v:g}" for v in digit)
        answer = json.loads(runtime.invoke_endpoint(EndpointName=chain["endpoint_name"], ContentType="text/csv",
                                                    Body=body)["Body"].read())
        prediction = answer["predictions"][0]
        distances = np.linalg.norm(centroids - digit, axis=1)
        assert int(prediction["closest_cluster"]) == int(distances.argmin())
        assert prediction["distance_to_cluster"] == pytest.approx(distances.min(), rel=1e-3)

    # cluster purity on the test split (k=10): each cluster votes its majority label
    purity = cluster_purity(centroids, sandbox["data"])
    print(f"cluster purity on the test split (k=10): {purity:.3f}")
    assert purity > 0.5
