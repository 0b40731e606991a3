"""Hosting and batch transform with a k-means model, and the inference both share.

* Hosting (:func:`run_hosting`): fetch the model's ``model.tar.gz`` (ModelDataUrl of the
  endpoint config's model), check it holds k-means centroids, keep them in the endpoint's folder
  for the API to answer InvokeEndpoint from. Logs: ``/aws/sagemaker/Endpoints/<endpoint>``,
  stream ``<variant>/<instance id>``.
* Batch transform (:func:`run_transform`): every object under the input prefix is split into
  records (``SplitType``), sent in requests (``BatchStrategy``, ``MaxPayloadInMB``) and the answers
  written to ``<S3OutputPath>/<file>.out`` joined as ``AssembleWith`` says. Logs:
  ``/aws/sagemaker/TransformJobs``, stream ``<job>/<instance id>``.
* :func:`infer` turns one request body into k-means's answer, for both and for InvokeEndpoint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ...kmeans_images import parse_kmeans_image
from . import kmeans
from .cwlogs import LogStream, instance_id
from .s3io import (JobFailure, client, denied, download_object, join_url, list_objects,
                   parse_s3_url, relative_key, upload_bytes)
from .worker import Emitter

JSON_TYPES = ("application/json", "*/*", "")
JSONLINES = "application/jsonlines"


class InferenceError(ValueError):
    """A request the model cannot answer; the message says what it expects."""


def features(body: bytes, content_type: str | None, feature_dim: int):
    """The feature matrix of one request (text/csv rows, or JSON ``instances``)."""
    import numpy as np

    base = (content_type or "text/csv").split(";")[0].strip().lower()
    text = body.decode("utf-8", "replace")
    if base in ("text/csv", "csv"):
        try:
            X = kmeans.parse_csv(text, "the request", kmeans.label_size(content_type))
        except JobFailure as failure:
            raise InferenceError(failure.reason.removeprefix("ClientError: ")) from None
    elif base == "application/json":
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise InferenceError(f"the body is not JSON ({err})") from None
        rows = doc.get("instances") if isinstance(doc, dict) else None
        if rows is None and isinstance(doc, dict) and "features" in doc:
            rows = [doc]
        if not isinstance(rows, list):
            raise InferenceError('JSON requests look like {"instances": [{"features": [...]}]}')
        try:
            X = np.array([r["features"] if isinstance(r, dict) else r for r in rows],
                         dtype=np.float32)
        except (KeyError, TypeError, ValueError) as err:
            raise InferenceError(f"cannot read the instances' features ({err})") from None
    else:
        raise InferenceError(f"content type '{content_type}' is not supported; send text/csv or "
                             "application/json")
    if X.size == 0:
        raise InferenceError("the request holds no records")
    if X.ndim != 2 or X.shape[1] != feature_dim:
        width = X.shape[1] if X.ndim == 2 else X.ndim
        raise InferenceError(f"records have {width} features; the model expects {feature_dim}")
    return X


def infer(model: dict, body: bytes, content_type: str | None, accept: str | None):
    """(answer bytes, its content type) for one request, as SageMaker's k-means answers."""
    accept = (accept or "application/json").split(";")[0].strip().lower()
    X = features(body, content_type, int(model["feature_dim"]))
    preds = kmeans.predictions(X, model["centroids"])
    if accept in JSON_TYPES:
        return json.dumps({"predictions": preds}).encode(), "application/json"
    if accept == JSONLINES:
        return "".join(json.dumps(p) + "\n" for p in preds).encode(), JSONLINES
    raise InferenceError(f"accept type '{accept}' is not supported; ask for application/json "
                         "or application/jsonlines")


def _model_location(model: dict) -> tuple[str, str]:
    """(image, ModelDataUrl) of a model record's primary container."""
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return container.get("Image", ""), container.get("ModelDataUrl", "")


def load_model(task: dict, model: dict, dest: Path, hosting: bool) -> dict:
    """Fetch and read the model archive of a model record; clear failures otherwise."""
    image, data_url = _model_location(model)
    if parse_kmeans_image(image) is None:
        raise JobFailure(
            f"ClientError: The model's image '{image}' is not one this sandbox can serve. It "
            "serves SageMaker's built-in k-means image of the region."
        )
    if not data_url:
        raise JobFailure("ClientError: The model has no ModelDataUrl; point it at the "
                         "model.tar.gz a k-means training job wrote.")
    try:
        path = download_object(task, client(task, "s3"), data_url, dest / "model.tar.gz")
    except JobFailure as failure:
        if not hosting:
            raise
        raise JobFailure(
            f'Failed to download model data for container "container_1" from URL: "{data_url}". '
            "Please ensure that there is an object located at the URL and that the role passed "
            f"to CreateModel has permissions to download the object. ({failure.reason})"
        ) from None
    return kmeans.read_model(path.read_bytes(), data_url)


def run_hosting(task: dict, emit: Emitter) -> dict:
    """Prepare an endpoint: the model's centroids, saved where the API serves them from."""
    req = task["request"]
    variant = req.get("VariantName", "AllTraffic")
    log = LogStream(client(task, "logs"), f"/aws/sagemaker/Endpoints/{task['name']}",
                    f"{variant}/{instance_id(task['name'] + variant + str(time.time()))}")
    try:
        work = Path(task["work_dir"])
        work.mkdir(parents=True, exist_ok=True)
        log.write(f"Starting the k-means model server for variant {variant}")
        doc = load_model(task, req["model"], work, hosting=True)
        emit.next_phase()
        target = work / "model.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({"k": doc["k"], "feature_dim": doc["feature_dim"],
                                   "centroids": doc["centroids"]}))
        tmp.replace(target)
        log.write(f"Model loaded: k={doc['k']}, feature_dim={doc['feature_dim']}. "
                  "Listening for /invocations and /ping.")
        return {"model_path": str(target)}
    except JobFailure as failure:
        log.write(f"[ERROR] {failure.reason}")
        raise
    finally:
        log.flush()


def _requests(records: list[bytes], strategy: str, max_bytes: int) -> list[list[bytes]]:
    """Group records into requests: one each (SingleRecord) or as many as fit (MultiRecord)."""
    groups: list[list[bytes]] = []
    size = 0
    for rec in records:
        if len(rec) > max_bytes:
            raise JobFailure(f"ClientError: A record of {len(rec)} bytes is larger than "
                             "MaxPayloadInMB; raise MaxPayloadInMB or split the input.")
        if strategy == "SingleRecord" or not groups or size + len(rec) + 1 > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(rec)
        size += len(rec) + 1
    return groups


def run_transform(task: dict, emit: Emitter) -> dict:
    """Predict every record of every input object; write ``<file>.out`` files."""
    req = task["request"]
    log = LogStream(client(task, "logs"), "/aws/sagemaker/TransformJobs",
                    f"{task['name']}/{instance_id(task['name'])}")
    try:
        return _transform(task, req, log, emit)
    except JobFailure as failure:
        log.write(f"[ERROR] {failure.reason}")
        raise
    finally:
        log.flush()


def _transform(task: dict, req: dict, log: LogStream, emit: Emitter) -> dict:
    """The body of :func:`run_transform`."""
    import numpy as np

    work = Path(task["work_dir"])
    model = load_model(task, task["model"], work, hosting=False)
    model["centroids"] = np.asarray(model["centroids"], dtype=np.float32)
    source = req["TransformInput"]["DataSource"]["S3DataSource"]
    if source.get("S3DataType", "S3Prefix") != "S3Prefix":
        raise JobFailure("ClientError: The sandbox's batch transform reads S3Prefix inputs only.")
    split = req["TransformInput"].get("SplitType", "None")
    if split not in ("Line", "None"):
        raise JobFailure(f"ClientError: SplitType {split} is not supported here; use Line for "
                         "CSV input.")
    content_type = req["TransformInput"].get("ContentType", "text/csv")
    out_cfg = req["TransformOutput"]
    accept = out_cfg.get("Accept") or "application/json"
    joiner = b"\n" if out_cfg.get("AssembleWith", "None") == "Line" else b""
    strategy = req.get("BatchStrategy") or "MultiRecord"
    max_bytes = int(req.get("MaxPayloadInMB") or 6) * 1024 * 1024
    s3 = client(task, "s3")
    denied(task, source["S3Uri"])
    url = parse_s3_url(source["S3Uri"])
    objects = list_objects(s3, url)
    if not objects:
        raise JobFailure(f'ClientError: No S3 objects found under S3 URL "{source["S3Uri"]}". '
                         "Check the transform input's S3Uri.")
    emit.next_phase()
    written, records_done = [], 0
    for obj in objects:
        body = s3.get_object(Bucket=url.bucket, Key=obj["Key"])["Body"].read()
        if split == "Line":
            records = [line for line in body.splitlines() if line.strip()]
        else:
            records = [body]
        answers = []
        for group in _requests(records, strategy, max_bytes):
            try:
                answer, _ = infer(model, b"\n".join(group), content_type, accept)
            except InferenceError as err:
                raise JobFailure(f"ClientError: The model could not answer a request from "
                                 f"s3://{url.bucket}/{obj['Key']}: {err}") from None
            answers.append(answer.rstrip(b"\n") if joiner else answer)
        records_done += len(records)
        target = join_url(out_cfg["S3OutputPath"], relative_key(url.key, obj["Key"]) + ".out")
        upload_bytes(task, s3, joiner.join(answers) + (joiner if answers else b""), target)
        log.write(f"Wrote {len(records)} prediction(s) to {target}")
        written.append(target)
    return {"outputs": written, "records": records_done}
