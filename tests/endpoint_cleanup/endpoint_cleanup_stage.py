"""Staging what the pipeline would leave behind: a k-means model in S3, the ACK custom resources
Model → EndpointConfig → Endpoint, direct SageMaker resources, and the run-monitoring outputs.

The model is a real k-means fit (scikit-learn) on the lab's training digits, written in the
sandbox's model format, so the endpoint's answers are real predictions.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import tarfile
import time
from pathlib import Path

from wizard.state import StateStore

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"


def model_tar(mnist: Path) -> bytes:
    """``model.tar.gz`` holding k-means (k=10) centroids fitted on the training split."""
    from sklearn.cluster import KMeans

    with gzip.open(mnist, "rb") as fh:
        (x, _y), _valid, _test = pickle.load(fh, encoding="latin1")
    fit = KMeans(n_clusters=10, n_init=1, random_state=0).fit(x)
    doc = {"format": "labwiz-kmeans", "version": 1, "k": 10, "feature_dim": 784,
           "centroids": fit.cluster_centers_.tolist(), "hyperparameters": {"k": "10"}}
    data = json.dumps(doc).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("kmeans-model.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def put_model(aws, lab: Path, bucket: str, key: str = "lab1/output/staged/model.tar.gz") -> str:
    """Upload the model for the lab; return its S3 URI."""
    aws("s3").put_object(Bucket=bucket, Key=key, Body=model_tar(lab / "data" / "mnist.pkl.gz"))
    return f"s3://{bucket}/{key}"


def _cr(kind: str, name: str, spec: dict, lineage: str | None) -> dict:
    """A custom resource object, labelled with the lineage when given."""
    meta = {"name": name}
    if lineage:
        meta["labels"] = {"labwiz.dev/lineage": lineage}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": meta, "spec": spec}


def create_endpoint_crs(kube, namespace: str, name: str, role: str, model_uri: str, image: str,
                        lineage: str | None = None) -> list[dict]:
    """Model, EndpointConfig and Endpoint custom resources named after ``name``; the resources
    list a finished run-monitoring step would record."""
    from kubernetes import client

    api = client.CustomObjectsApi(kube)
    objs = [
        ("Model", "models", f"{name}-model", {
            "modelName": f"{name}-model", "executionRoleARN": role,
            "primaryContainer": {"image": image, "modelDataURL": model_uri}}),
        ("EndpointConfig", "endpointconfigs", f"{name}-config", {
            "endpointConfigName": f"{name}-config",
            "productionVariants": [{"variantName": "AllTraffic", "modelName": f"{name}-model",
                                    "initialInstanceCount": 1, "instanceType": "ml.m5.large",
                                    "initialVariantWeight": 1.0}]}),
        ("Endpoint", "endpoints", name, {"endpointName": name,
                                         "endpointConfigName": f"{name}-config"}),
    ]
    resources = []
    for kind, plural, obj_name, spec in objs:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, plural,
                                            _cr(kind, obj_name, spec, lineage))
        # as the pipeline does: each resource exists in SageMaker before the next refers to it
        arn = wait_arn(kube, namespace, plural, obj_name) if kind != "Endpoint" else None
        resources.append({"kind": kind, "plural": plural, "name": obj_name,
                          "namespace": namespace, "arn": arn})
    return resources


def wait_arn(kube, namespace: str, plural: str, name: str, timeout: float = 60) -> str:
    """The ARN the ACK controller writes to a resource's status."""
    from kubernetes import client

    api = client.CustomObjectsApi(kube)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = api.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        arn = ((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("arn")
        if arn:
            return arn
        time.sleep(0.2)
    raise AssertionError(f"{plural}/{name} got no ARN: {obj.get('status')}")


def finish_run_monitoring(lab: Path, endpoint_name: str, model_uri: str, resources: list) -> None:
    """Write the outputs a finished run-monitoring step would have."""
    store = StateStore(lab)
    doc = store.load()
    doc["steps"]["run-monitoring"] = {"status": "done", "attempts": 1, "outputs": {
        "run_id": "staged-run", "run_state": "SUCCEEDED", "endpoint_name": endpoint_name,
        "model_artifact": model_uri, "resources": resources}}
    store.save(doc)


def add_ledger(lab: Path, rows: list[dict]) -> None:
    """Append ledger rows (as a step that created those resources would have)."""
    import uuid

    store = StateStore(lab)
    doc = store.load()
    for row in rows:
        doc["ledger"].append({"id": uuid.uuid4().hex[:12], "step": "run-monitoring", "arn": None,
                              "region": None, "namespace": None, "details": {},
                              "created_at": "2026-01-01T00:00:00Z", "deleted_at": None, **row})
    store.save(doc)
