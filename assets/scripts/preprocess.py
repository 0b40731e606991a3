#!/usr/bin/env python3
"""Preprocessing for the lab's k-means MNIST pipeline (runs as a SageMaker Processing job).

Reads ``mnist.pkl.gz`` (a pickle of ``(train, valid, test)``, each ``(X, y)``) from the processing
input directory and writes three CSV files that SageMaker's k-means accepts (``text/csv``, one
record per line, features only, no header and no label column):

* ``train_data.csv``  to the train output directory  (training channel ``train``)
* ``test_data.csv``   to the test output directory   (training channel ``test``, for test:msd)
* ``valid_data.csv``  to the valid output directory  (input of the batch transform)

In SageMaker the directories sit under ``/opt/ml/processing``. To run the same script elsewhere,
set ``SM_PROCESSING_ROOT`` (the directory standing in for ``/opt/ml``) or pass the directories as
arguments. Only numpy is needed, which SageMaker's scikit-learn image ships.
"""

import argparse
import gzip
import os
import pickle
import sys

import numpy as np

ROOT = os.environ.get("SM_PROCESSING_ROOT", "/opt/ml")


def _default(*parts):
    """A path under the processing root, e.g. ``/opt/ml/processing/input``."""
    return os.path.join(ROOT, "processing", *parts)


def parse_args(argv):
    """The command line: where to read and where to write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default=_default("input"))
    parser.add_argument("--input-file", default="mnist.pkl.gz")
    parser.add_argument("--train-dir", default=_default("output_train"))
    parser.add_argument("--test-dir", default=_default("output_test"))
    parser.add_argument("--valid-dir", default=_default("output_valid"))
    return parser.parse_args(argv)


def write_csv(features, directory, name):
    """Write one feature matrix as CSV and say how much was written."""
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, name)
    # %.4g keeps the file small; pixel values need no more than 4 significant digits
    np.savetxt(target, np.asarray(features, dtype=np.float32), delimiter=",", fmt="%.4g")
    print(f"wrote {target}: {len(features)} rows x {np.asarray(features).shape[1]} columns")


def main(argv=None):
    """Read the pickle, write train/test/valid CSVs; exit non-zero with a reason on bad input."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    source = os.path.join(args.input_dir, args.input_file)
    if not os.path.exists(source):
        found = sorted(os.listdir(args.input_dir)) if os.path.isdir(args.input_dir) else []
        print(f"error: {source} not found (input directory holds: {found or 'nothing'}). "
              "Check the processing job's input S3 URI and LocalPath.", file=sys.stderr)
        return 2
    with gzip.open(source, "rb") as handle:
        train_set, valid_set, test_set = pickle.load(handle, encoding="latin1")
    for label, split in (("train", train_set), ("valid", valid_set), ("test", test_set)):
        features = np.asarray(split[0])
        if features.ndim != 2 or features.shape[1] != 784:
            print(f"error: the {label} split has shape {features.shape}; expected (n, 784).",
                  file=sys.stderr)
            return 2
    write_csv(train_set[0], args.train_dir, "train_data.csv")
    write_csv(test_set[0], args.test_dir, "test_data.csv")
    write_csv(valid_set[0], args.valid_dir, "valid_data.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
