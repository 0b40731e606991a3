"""Small pure pieces: the image table, the MNIST stand-in, request routing, hyperparameters."""

from __future__ import annotations

import gzip
import hashlib
import pickle

import numpy as np
import pytest

from wizard.kmeans_images import kmeans_image_uri, parse_kmeans_image, UnknownRegionError


def test_kmeans_image_uris():
    """The region table gives SageMaker's URIs and recognises only them."""
    assert kmeans_image_uri("eu-west-1") == "438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1"
    assert kmeans_image_uri("us-west-2") == "174872318107.dkr.ecr.us-west-2.amazonaws.com/kmeans:1"
    assert kmeans_image_uri("cn-northwest-1") == (
        "387376663083.dkr.ecr.cn-northwest-1.amazonaws.com.cn/kmeans:1")
    assert parse_kmeans_image(kmeans_image_uri("ap-south-1")).region == "ap-south-1"
    # right name, wrong registry account: not SageMaker's image
    assert parse_kmeans_image("438346466558.dkr.ecr.us-east-1.amazonaws.com/kmeans:1") is None
    with pytest.raises(UnknownRegionError, match="eu-west-1"):
        kmeans_image_uri("mars-north-1")


def test_mnist_stand_in_is_deterministic_and_shaped(tmp_path):
    """The stand-in has MNIST's shape and the same bytes every build."""
    from wizard.sandbox.mnist import SPLITS, build_mnist_pkl_gz

    a = build_mnist_pkl_gz(tmp_path / "a" / "mnist.pkl.gz")
    b = build_mnist_pkl_gz(tmp_path / "b" / "mnist.pkl.gz")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    with gzip.open(a, "rb") as f:
        sets = pickle.load(f, encoding="latin1")
    for (X, y), part in zip(sets, ("train", "valid", "test")):
        assert X.dtype == np.float32 and X.shape == (SPLITS[part], 784)
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
        assert 0.0 <= X.min() and X.max() <= 1.0
        # digits sit in the centre 20x20 box, as MNIST's do
        frame = X.reshape(-1, 28, 28)
        assert frame[:, :4].max() == 0 and frame[:, 24:].max() == 0


def test_mnist_stand_in_cache_is_reused_and_rebuilt_when_its_bytes_change(tmp_path, monkeypatch):
    """The cached stand-in is the fresh build's bytes; a second start reuses it without building;
    a copy whose bytes no longer match its recorded SHA-256 is built again."""
    from wizard.sandbox import mnist

    monkeypatch.setenv(mnist.ENV_CACHE, str(tmp_path / "cache"))
    fresh = mnist.build_mnist_pkl_gz(tmp_path / "fresh" / "mnist.pkl.gz").read_bytes()
    cached = mnist.cached_mnist_pkl_gz()
    assert cached.is_relative_to(tmp_path / "cache") and cached.read_bytes() == fresh
    builds = []
    real_build = mnist.build_mnist_pkl_gz
    monkeypatch.setattr(mnist, "build_mnist_pkl_gz", lambda p: builds.append(p) or real_build(p))
    assert mnist.cached_mnist_pkl_gz() == cached and builds == []
    cached.write_bytes(fresh[: len(fresh) // 2])  # a copy cut short
    assert mnist.cached_mnist_pkl_gz().read_bytes() == fresh and builds == [cached]
    assert list(cached.parent.glob("*.tmp")) == []


def test_routing_decision():
    """Requests are told apart by signing scope, target header or runtime path."""
    from wizard.sandbox.aws.sagemaker.dispatch import is_sagemaker_request

    scope = "AWS4-HMAC-SHA256 Credential=testing/20240101/eu-west-1/{}/aws4_request, x=y"
    assert is_sagemaker_request({"HTTP_AUTHORIZATION": scope.format("sagemaker")})
    assert not is_sagemaker_request({"HTTP_AUTHORIZATION": scope.format("s3")})
    assert is_sagemaker_request({"HTTP_X_AMZ_TARGET": "SageMaker.ListModels"})
    assert is_sagemaker_request({"REQUEST_METHOD": "POST", "PATH_INFO": "/endpoints/x/invocations"})
    assert not is_sagemaker_request({"REQUEST_METHOD": "GET", "PATH_INFO": "/endpoints/x"})


def test_hyperparameter_validation():
    """Strings are typed and checked; bad ones fail with ClientError reasons."""
    from wizard.sandbox.compute.kmeans import validate_hyperparameters
    from wizard.sandbox.compute.s3io import JobFailure

    hp = validate_hyperparameters({"k": "10", "feature_dim": "784",
                                   "_tuning_objective_metric": "test:msd"})
    assert hp["k"] == 10 and hp["init_method"] == "random" and hp["extra_center_factor"] == "auto"
    for bad, text in (({"feature_dim": "784"}, "missing required"),
                      ({"k": "0", "feature_dim": "784"}, "'k' must be an integer at least 1"),
                      ({"k": "3", "feature_dim": "4", "init_method": "best"}, "init_method"),
                      ({"k": "3", "feature_dim": "4", "colour": "red"}, "'colour' was unexpected")):
        with pytest.raises(JobFailure, match=text) as info:
            validate_hyperparameters(bad)
        assert info.value.reason.startswith("ClientError:")


def test_shape_validation_words_errors_like_aws():
    """A pattern violation is worded as AWS words it."""
    from wizard.sandbox.aws.sagemaker.errors import SageMakerError
    from wizard.sandbox.aws.sagemaker.shapes import validate

    with pytest.raises(SageMakerError) as info:
        validate("CreateEndpoint", {"EndpointName": "bad name!", "EndpointConfigName": "c"})
    assert info.value.code == "ValidationException"
    assert info.value.message.startswith(
        "1 validation error detected: Value 'bad name!' at 'endpointName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern")
