"""The offline stand-in for the lab's ``mnist.pkl.gz``.

The lab downloads MNIST (70,000 handwritten digits, 28x28 grey levels) from an AWS bucket. The
sandbox has no network, so it builds a file of the same shape from real handwritten digits that
scikit-learn ships (``load_digits``: 1,797 digits scanned at 8x8, 17 grey levels). Each digit is
upscaled with bilinear interpolation to 20x20 and centred in a 28x28 frame, as MNIST centres its
digits in a 20x20 box, then scaled to [0, 1].

The file holds ``(train_set, valid_set, test_set)``, each a tuple ``(X, y)`` with ``X`` float32 of
784 columns and ``y`` int64, and loads with ``pickle.load(f, encoding='latin1')`` like the lab's.
It is deterministic: the same bytes on every build. Building it costs seconds (scikit-learn's
import, the resize, gzip), and every sandbox start needs it, so :func:`cached_mnist_pkl_gz` keeps
one copy in labwiz's user cache, named by what decides its bytes (this module's source and the
numpy and scikit-learn versions) and checked against its recorded SHA-256 before each use.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path

#: rows in each split (1,797 digits in all)
SPLITS = {"train": 1197, "valid": 300, "test": 300}
SIDE = 28
BOX = 20
_SEED = 20201207


def _upscale(images, size: int):
    """Bilinear resize of a stack of square images (n, s, s) to (n, size, size)."""
    import numpy as np

    n, src, _ = images.shape
    # sample positions in source pixel centres, so the corners map to the corners
    pos = np.linspace(0.0, src - 1.0, size)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, src - 1)
    frac = (pos - lo).astype(np.float32)
    rows = images[:, lo, :] * (1 - frac)[None, :, None] + images[:, hi, :] * frac[None, :, None]
    return rows[:, :, lo] * (1 - frac)[None, None, :] + rows[:, :, hi] * frac[None, None, :]


def build_arrays():
    """The three splits as ``((Xtr, ytr), (Xva, yva), (Xte, yte))``, shuffled with a fixed seed."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    big = _upscale(images, BOX)
    frame = np.zeros((len(images), SIDE, SIDE), dtype=np.float32)
    margin = (SIDE - BOX) // 2
    frame[:, margin:margin + BOX, margin:margin + BOX] = big
    X = np.clip(frame.reshape(len(images), SIDE * SIDE), 0.0, 1.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.RandomState(_SEED).permutation(len(X))
    X, y = X[order], y[order]
    a = SPLITS["train"]
    b = a + SPLITS["valid"]
    return (X[:a], y[:a]), (X[a:b], y[a:b]), (X[b:], y[b:])


def build_mnist_pkl_gz(path: Path) -> Path:
    """Write the stand-in ``mnist.pkl.gz`` to ``path`` (atomically) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    pickle.dump(build_arrays(), raw, protocol=2)
    # a temporary name of its own: two processes (test workers, two sandboxes) may build at once
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            # mtime=0 and no file name in the header keep the bytes identical from build to build
            with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
                gz.write(raw.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: overrides where the cached copy is kept (tests point it at a temporary directory)
ENV_CACHE = "LABWIZ_MNIST_CACHE"


def cache_root() -> Path:
    """``LABWIZ_MNIST_CACHE``, else the platform's user cache dir for labwiz, plus ``mnist``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("labwiz")) / "mnist"


def build_key() -> str:
    """What decides the stand-in's bytes, hashed: this module's source and numpy's and
    scikit-learn's versions (read from their metadata, without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for dist in ("numpy", "scikit-learn"):
        try:
            digest.update(f"{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            digest.update(f"{dist}=?".encode())
    return digest.hexdigest()[:16]


def _sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cached_mnist_pkl_gz() -> Path:
    """The stand-in from labwiz's cache, built there first when it is missing or its bytes no
    longer match the SHA-256 recorded when it was built (a truncated or edited copy)."""
    home = cache_root() / build_key()
    path, recorded = home / "mnist.pkl.gz", home / "mnist.pkl.gz.sha256"
    try:
        if recorded.read_text().strip() == _sha256(path):
            return path
    except OSError:
        pass
    try:
        build_mnist_pkl_gz(path)
        fd, tmp = tempfile.mkstemp(dir=home, prefix="sha256.", suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            out.write(_sha256(path) + "\n")
        os.replace(tmp, recorded)
    except PermissionError:
        # a read-only home (some notebook images): build where this process may write, every time
        path = build_mnist_pkl_gz(Path(tempfile.mkdtemp(prefix="labwiz-mnist-")) / "mnist.pkl.gz")
    return path
