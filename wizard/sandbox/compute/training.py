"""Training jobs: SageMaker's built-in k-means, run with scikit-learn.

Phases (SecondaryStatus) as SageMaker reports them: Starting (set by the API), Downloading,
Training, Uploading, then Completed. Logs go to ``/aws/sagemaker/TrainingJobs``, stream
``<job>/algo-1-<epoch seconds>``; the model to ``<S3OutputPath>/<job>/output/model.tar.gz``.
"""

from __future__ import annotations

import importlib
import threading
import time
import zlib
from pathlib import Path

from ...kmeans_images import kmeans_image_uri, parse_kmeans_image
from . import kmeans
from .cwlogs import LogStream
from .s3io import JobFailure, client, download_prefix, join_url, upload_bytes
from .worker import Emitter


def check_image(image: str, region: str) -> None:
    """Fail unless ``image`` is SageMaker's k-means image for ``region``."""
    try:
        example = kmeans_image_uri(region)
    except ValueError:
        example = kmeans_image_uri("eu-west-1")
    ref = parse_kmeans_image(image or "")
    if ref is None:
        raise JobFailure(
            f"ClientError: The training image '{image}' is not one this sandbox can run. It runs "
            f"SageMaker's built-in k-means algorithm only; use {example}."
        )
    if ref.region != region:
        raise JobFailure(
            f"ClientError: The training image '{image}' is in region {ref.region}, but the job "
            f"runs in {region}. Use the image of the job's region: {example}."
        )


def load_channel(files: list[Path], content_type: str | None, channel: str):
    """All records of a channel's CSV files as one float32 matrix."""
    import numpy as np

    base = (content_type or "text/csv").split(";")[0].strip().lower()
    if base not in ("text/csv", "csv"):
        raise JobFailure(
            f"ClientError: Channel '{channel}' has content type '{content_type}'. The sandbox's "
            "k-means reads text/csv (text/csv;label_size=0); recordIO-protobuf is not supported "
            "here."
        )
    labels = kmeans.label_size(content_type)
    parts = [kmeans.parse_csv(path.read_text(), f"channel '{channel}' file {path.name}", labels)
             for path in sorted(files)]
    parts = [part for part in parts if part.size]
    if not parts:
        raise JobFailure(f"ClientError: Channel '{channel}' holds no records.")
    widths = {part.shape[1] for part in parts}
    if len(widths) > 1:
        raise JobFailure(f"ClientError: Files of channel '{channel}' differ in their number of "
                         f"columns ({sorted(widths)}).")
    return np.concatenate(parts)


def _channels(task: dict, emit: Emitter, log: LogStream) -> dict:
    """Download every channel; {channel name: (files, content type)}."""
    req = task["request"]
    s3 = client(task, "s3")
    out = {}
    root = Path(task["work_dir"]) / "input" / "data"
    for channel in req.get("InputDataConfig") or []:
        name = channel["ChannelName"]
        source = (channel.get("DataSource") or {}).get("S3DataSource")
        if not source:
            raise JobFailure(f"ClientError: Channel '{name}' has no S3DataSource; the sandbox "
                             "reads training data from S3 only.")
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise JobFailure(f"ClientError: Channel '{name}' uses S3DataType "
                             f"{source.get('S3DataType')}; the sandbox supports S3Prefix.")
        if channel.get("CompressionType", "None") not in ("None", None):
            raise JobFailure(f"ClientError: Channel '{name}' is {channel['CompressionType']}-"
                             "compressed; give the sandbox uncompressed CSV.")
        log.write(f"Downloading channel '{name}' from {source['S3Uri']}")
        files = download_prefix(task, s3, source["S3Uri"], root / name, req["RoleArn"])
        out[name] = (files, channel.get("ContentType"))
    return out


def run_training(task: dict, emit: Emitter) -> dict:
    """Train, evaluate, upload; the result holds ModelArtifacts and FinalMetricDataList."""
    req = task["request"]
    name = task["name"]
    # importing scikit-learn takes seconds; do it while the data downloads (the import lock
    # makes fit() wait for it if it has not finished)
    threading.Thread(target=importlib.import_module, args=("sklearn.cluster",),
                     daemon=True).start()
    log = LogStream(client(task, "logs"), "/aws/sagemaker/TrainingJobs",
                    f"{name}/algo-1-{int(time.time())}")
    try:
        return _train(task, emit, req, name, log)
    except JobFailure as failure:
        log.write(f"[ERROR] {failure.reason}")
        raise
    finally:
        log.flush()


def _train(task: dict, emit: Emitter, req: dict, name: str, log: LogStream) -> dict:
    """The body of :func:`run_training` (split out so the log is flushed on every path)."""
    import numpy as np

    spec = req.get("AlgorithmSpecification") or {}
    check_image(spec.get("TrainingImage") or spec.get("AlgorithmName") or "", task["region"])
    hp = kmeans.validate_hyperparameters(req.get("HyperParameters") or {})
    log.write(f"[INFO] Reading provided configuration: {hp}")
    emit.status("Downloading", "Downloading input data")
    channels = _channels(task, emit, log)
    if "train" not in channels:
        raise JobFailure("ClientError: Unable to find channel 'train' in the input data. "
                         f"Channels given: {sorted(channels) or 'none'}.")
    emit.status("Training", "Training image download completed. Training in progress.")
    X = load_channel(*channels["train"], "train")
    if X.shape[1] != hp["feature_dim"]:
        raise JobFailure(
            f"ClientError: feature_dim={hp['feature_dim']} does not match the {X.shape[1]} "
            "columns of the train channel. Set feature_dim to the number of feature columns."
        )
    log.write(f"[INFO] Training on {len(X)} records of dimension {X.shape[1]}, k={hp['k']}")
    started = time.time()
    centroids = kmeans.fit(X, hp, seed=zlib.crc32(name.encode()) & 0x7FFFFFFF)
    log.write(f"[INFO] Fitted {len(centroids)} centroids in {time.time() - started:.2f}s")
    final = []
    if "test" in channels:
        T = load_channel(*channels["test"], "test")
        if T.shape[1] != X.shape[1]:
            raise JobFailure(f"ClientError: The test channel has {T.shape[1]} columns, the train "
                             f"channel {X.shape[1]}.")
        for metric, value in kmeans.metrics(T, centroids, hp["eval_metrics"]).items():
            log.write(f"#test_score (algo-1) : ('{metric}', {value})")
            final.append({"MetricName": f"test:{metric}", "Value": value,
                          "Timestamp": time.time()})
        emit("metrics", metrics=final)
    else:
        log.write("[INFO] No test channel given; no test metrics are reported.")
    emit.status("Uploading", "Uploading generated training model")
    target = join_url(req["OutputDataConfig"]["S3OutputPath"], name, "output", "model.tar.gz")
    upload_bytes(task, client(task, "s3"), kmeans.model_tarball(np.asarray(centroids), hp), target)
    log.write(f"[INFO] Model written to {target}")
    return {"ModelArtifacts": {"S3ModelArtifacts": target}, "FinalMetricDataList": final}
