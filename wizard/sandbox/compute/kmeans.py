"""SageMaker's k-means algorithm, reimplemented on scikit-learn.

Hyperparameters arrive as strings, as SageMaker passes them; :func:`validate_hyperparameters`
checks them like the algorithm does and raises :class:`~.s3io.JobFailure` with a ``ClientError``
reason for a bad one.

Training follows SageMaker's scheme: mini-batch k-means finds ``k * extra_center_factor`` centres
over the data (``epochs`` passes of ``mini_batch_size`` batches), then a weighted Lloyd's k-means
(``local_lloyd_*``) reduces them to ``k``. ``extra_center_factor=auto`` means 10 here, capped so
that there are at least two records per centre.

The model file (inside ``model.tar.gz``) is ``kmeans-model.json``::

    {"format": "labwiz-kmeans", "version": 1, "k": 10, "feature_dim": 784,
     "centroids": [[...784 floats...], ...k rows...], "hyperparameters": {...}}

SageMaker's own k-means writes an MXNet NDArray file (``model_algo-1``) instead; this sandbox
does not ship MXNet, so it uses this documented JSON form.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
from typing import Any

from .s3io import JobFailure

MODEL_FILE = "kmeans-model.json"
MODEL_FORMAT = "labwiz-kmeans"

_DEFAULTS = {
    "mini_batch_size": "5000",
    "epochs": "1",
    "init_method": "random",
    "extra_center_factor": "auto",
    "local_lloyd_max_iter": "300",
    "local_lloyd_tol": "0.0001",
    "local_lloyd_init_method": "kmeans++",
    "local_lloyd_num_trials": "auto",
    "half_life_time_size": "0",
    "eval_metrics": '["msd"]',
    "force_dense": "true",
}
REQUIRED = ("k", "feature_dim")
_AUTO_FACTOR = 10


def _bad(name: str, value: str, want: str) -> JobFailure:
    """The failure for one hyperparameter that does not validate."""
    return JobFailure(
        "ClientError: Unable to initialize the algorithm. Failed to validate input "
        f"hyperparameters: '{name}' must be {want}, got '{value}'."
    )


def _int(params: dict, name: str, low: int, high: int | None = None, auto: bool = False) -> Any:
    """An integer hyperparameter in [low, high] (or 'auto' where allowed)."""
    raw = str(params[name]).strip()
    if auto and raw == "auto":
        return "auto"
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, raw, "an integer" + (" or 'auto'" if auto else "")) from None
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _bad(name, raw, f"an integer {span}")
    return value


def validate_hyperparameters(given: dict) -> dict:
    """The typed hyperparameters, defaults filled in; :class:`JobFailure` on bad input."""
    params = {key: str(val) for key, val in (given or {}).items()}
    missing = [name for name in REQUIRED if name not in params]
    if missing:
        raise JobFailure(
            "ClientError: Unable to initialize the algorithm. Failed to validate input "
            f"hyperparameters: missing required hyperparameter(s): {', '.join(missing)}. "
            "Set k (the number of clusters) and feature_dim (the number of columns)."
        )
    # SageMaker adds its own keys (such as _tuning_objective_metric) with a leading underscore
    extra = sorted(k for k in params if k not in _DEFAULTS and k not in REQUIRED
                   and not k.startswith("_") and not k.startswith("sagemaker_"))
    if extra:
        raise JobFailure(
            "ClientError: Unable to initialize the algorithm. Failed to validate input "
            f"hyperparameters: Additional hyperparameters are not allowed ({extra[0]!r} was "
            f"unexpected). Allowed: {', '.join(sorted(REQUIRED + tuple(_DEFAULTS)))}."
        )
    merged = {**_DEFAULTS, **params}
    out: dict[str, Any] = {
        "k": _int(merged, "k", 1),
        "feature_dim": _int(merged, "feature_dim", 1),
        "mini_batch_size": _int(merged, "mini_batch_size", 1),
        "epochs": _int(merged, "epochs", 1),
        "extra_center_factor": _int(merged, "extra_center_factor", 1, auto=True),
        "local_lloyd_max_iter": _int(merged, "local_lloyd_max_iter", 1),
        "local_lloyd_num_trials": _int(merged, "local_lloyd_num_trials", 1, auto=True),
        "half_life_time_size": _int(merged, "half_life_time_size", 0),
    }
    for name in ("init_method", "local_lloyd_init_method"):
        if merged[name] not in ("random", "kmeans++"):
            raise _bad(name, merged[name], "one of 'random', 'kmeans++'")
        out[name] = merged[name]
    try:
        tol = float(merged["local_lloyd_tol"])
    except ValueError:
        raise _bad("local_lloyd_tol", merged["local_lloyd_tol"], "a number") from None
    if not 0 <= tol <= 1:
        raise _bad("local_lloyd_tol", merged["local_lloyd_tol"], "a number between 0 and 1")
    out["local_lloyd_tol"] = tol
    try:
        metrics = json.loads(merged["eval_metrics"].replace("'", '"'))
        assert isinstance(metrics, list) and metrics and set(metrics) <= {"msd", "ssd"}
    except (ValueError, AssertionError):
        raise _bad("eval_metrics", merged["eval_metrics"],
                   'a JSON list drawn from "msd" and "ssd", such as ["msd", "ssd"]') from None
    out["eval_metrics"] = metrics
    if merged["force_dense"].lower() not in ("true", "false"):
        raise _bad("force_dense", merged["force_dense"], "'true' or 'false'")
    return out


def label_size(content_type: str | None) -> int:
    """The ``label_size`` parameter of a ``text/csv`` content type (0 when absent)."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip() == "label_size":
            try:
                return int(value)
            except ValueError:
                raise JobFailure(f"ClientError: label_size in content type '{content_type}' "
                                 "is not an integer.") from None
    return 0


def parse_csv(text: str, where: str, labels: int = 0):
    """Rows of a CSV text as a float32 matrix (label columns dropped); clear errors on bad rows."""
    import numpy as np

    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return np.zeros((0, 0), dtype=np.float32)
    width = lines[0].count(",") + 1
    for number, line in enumerate(lines, 1):
        if line.count(",") + 1 != width:
            raise JobFailure(
                f"ClientError: {where} line {number} has {line.count(',') + 1} columns, the "
                f"first line has {width}. Every record needs the same number of columns."
            )
    try:
        flat = np.array(",".join(lines).split(","), dtype=np.float32)
    except ValueError as err:
        raise JobFailure(f"ClientError: {where} holds a value that is not a number ({err}). "
                         "k-means takes numeric CSV without a header.") from None
    matrix = flat.reshape(len(lines), width)
    return matrix[:, labels:]


def fit(X, hp: dict, seed: int):
    """Centroids (k x feature_dim, float32) for the records ``X``, as SageMaker's scheme does."""
    import numpy as np
    from sklearn.cluster import KMeans, MiniBatchKMeans

    k = hp["k"]
    if len(X) < k:
        raise JobFailure(f"ClientError: k={k} is more than the {len(X)} records in the train "
                         "channel; lower k or give more data.")
    factor = hp["extra_center_factor"]
    if factor == "auto":
        factor = _AUTO_FACTOR
    centres = max(k, min(k * factor, len(X) // 2))
    init = "k-means++" if hp["init_method"] == "kmeans++" else "random"
    batch = min(hp["mini_batch_size"], len(X))
    stage = MiniBatchKMeans(n_clusters=centres, init=init, batch_size=batch,
                            max_iter=hp["epochs"], n_init=1, random_state=seed,
                            compute_labels=True, max_no_improvement=None)
    stage.fit(X)
    if centres == k:
        return stage.cluster_centers_.astype(np.float32)
    counts = np.bincount(stage.labels_, minlength=centres).astype(np.float64)
    keep = counts > 0
    trials = hp["local_lloyd_num_trials"]
    reduce = KMeans(
        n_clusters=k,
        init="k-means++" if hp["local_lloyd_init_method"] == "kmeans++" else "random",
        n_init=3 if trials == "auto" else trials,
        max_iter=hp["local_lloyd_max_iter"], tol=hp["local_lloyd_tol"], random_state=seed,
    )
    reduce.fit(stage.cluster_centers_[keep], sample_weight=counts[keep])
    return reduce.cluster_centers_.astype(np.float32)


def nearest(X, centroids):
    """(closest cluster index, squared distance to it) of each row of ``X``."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(centroids, dtype=np.float64)
    # |x-c|^2 = |x|^2 - 2 x.c + |c|^2 avoids an n x k x d temporary
    d2 = (X * X).sum(1)[:, None] - 2.0 * X @ C.T + (C * C).sum(1)[None, :]
    d2 = np.maximum(d2, 0.0)
    idx = d2.argmin(1)
    return idx, d2[np.arange(len(X)), idx]


def metrics(X, centroids, names: list[str]) -> dict[str, float]:
    """``msd`` (mean) and/or ``ssd`` (sum) of squared distances to the nearest centroid."""
    _, d2 = nearest(X, centroids)
    out = {}
    if "msd" in names:
        out["msd"] = float(d2.mean()) if len(d2) else 0.0
    if "ssd" in names:
        out["ssd"] = float(d2.sum())
    return out


def predictions(X, centroids) -> list[dict]:
    """SageMaker k-means answers: closest_cluster (float) and Euclidean distance_to_cluster."""
    idx, d2 = nearest(X, centroids)
    return [{"closest_cluster": float(i), "distance_to_cluster": float(math.sqrt(d))}
            for i, d in zip(idx.tolist(), d2.tolist())]


def model_tarball(centroids, hp: dict) -> bytes:
    """``model.tar.gz`` bytes holding :data:`MODEL_FILE`."""
    doc = {
        "format": MODEL_FORMAT,
        "version": 1,
        "k": int(centroids.shape[0]),
        "feature_dim": int(centroids.shape[1]),
        "centroids": [[float(v) for v in row] for row in centroids.tolist()],
        "hyperparameters": {key: val for key, val in hp.items()},
    }
    payload = json.dumps(doc).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(MODEL_FILE)
        info.size = len(payload)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def read_model(tarball: bytes, where: str) -> dict:
    """The model document inside a ``model.tar.gz``; :class:`JobFailure` if it is not ours."""
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
            member = tar.extractfile(MODEL_FILE)
            if member is None:
                raise KeyError(MODEL_FILE)
            doc = json.loads(member.read())
    except (tarfile.TarError, KeyError, ValueError, OSError) as err:
        raise JobFailure(
            f"ClientError: {where} is not a k-means model archive ({err}). Use the "
            "model.tar.gz a k-means training job wrote."
        ) from None
    if doc.get("format") != MODEL_FORMAT or not doc.get("centroids"):
        raise JobFailure(f"ClientError: {where} holds no k-means centroids.")
    return doc
