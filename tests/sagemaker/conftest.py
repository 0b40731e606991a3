"""Fixtures for the SageMaker sandbox tests: moto's real server, our app behind a front that
routes by request, real boto3 clients, and the lab's account set up (bucket, execution role,
the offline MNIST and the preprocessing script in S3)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

REGION = "eu-west-1"
BUCKET = "labwiz-sm-test"
ROLE = "SageMakerExecutionRole"
REPO = Path(__file__).resolve().parents[2]
SKLEARN_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


class Lab:
    """Everything a test needs: clients, URLs, the app, paths."""

    def __init__(self, url: str, app, data_dir: Path, faults_dir: Path, moto_url: str):
        """Real boto3 clients on the front URL."""
        import boto3

        self.url = url
        self.moto_url = moto_url
        self.app = app
        self.data_dir = data_dir
        self.faults_dir = faults_dir
        session = boto3.session.Session(aws_access_key_id="testing",
                                        aws_secret_access_key="testing", region_name=REGION)
        self.sm = session.client("sagemaker", endpoint_url=url)
        self.runtime = session.client("sagemaker-runtime", endpoint_url=url)
        self.s3 = session.client("s3", endpoint_url=url)
        self.iam = session.client("iam", endpoint_url=url)
        self.logs = session.client("logs", endpoint_url=url)
        self.role_arn = ""

    def set_faults(self, *specs: str) -> None:
        """Put faults in force (through faults.json, as the CLI does)."""
        from wizard.sandbox import faults

        faults.write(self.faults_dir, [faults.parse(s) for s in specs])
        # Faults re-reads on mtime change; make sure a rewrite within the same tick is seen
        stamp = time.time() + len(specs) + 1
        os.utime(self.faults_dir / faults.FAULTS_FILE, (stamp, stamp))

    def wait(self, describe, name_key: str, name: str, status_key: str,
             done=("Completed", "Failed", "Stopped", "InService"), timeout: float = 120) -> dict:
        """Poll a Describe call until the status is final."""
        deadline = time.monotonic() + timeout
        while True:
            out = describe(**{name_key: name})
            if out[status_key] in done:
                return out
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still {out[status_key]} after {timeout}s: {out}")
            time.sleep(0.05)


@pytest.fixture(scope="session")
def moto_url():
    """moto's real server, in its own process so that its state never leaks into other tests
    (moto keeps its backends in module globals of whatever process runs it)."""
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = ("import sys; from moto.server import ThreadedMotoServer; "
            "s = ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False); "
            "s.start(); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proc.stdin.close()  # the server process ends when its stdin closes
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def lab(moto_url, tmp_path_factory):
    """The SageMaker app (fast phases) behind a front with moto, and the lab account."""
    from wizard.sandbox.aws.sagemaker import make_sagemaker_app
    from wizard.sandbox.aws.sagemaker.dispatch import FrontApp, serve
    from wizard.sandbox.faults import Faults
    from wizard.sandbox.mnist import cached_mnist_pkl_gz

    data_dir = tmp_path_factory.mktemp("sagemaker")
    faults_dir = tmp_path_factory.mktemp("faults")
    app = make_sagemaker_app(data_dir, moto_url, REGION, Faults(faults_dir), delay=0.05)
    server, url = serve(FrontApp(app, moto_url))
    lab = Lab(url, app, data_dir, faults_dir, moto_url)
    lab.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    lab.role_arn = lab.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))[
        "Role"]["Arn"]
    mnist = cached_mnist_pkl_gz()  # the bytes a sandbox start uploads
    lab.mnist = mnist
    lab.s3.upload_file(str(mnist), BUCKET, "lab1/source_data/mnist.pkl.gz")
    lab.s3.upload_file(str(REPO / "assets/scripts/preprocess.py"), BUCKET,
                       "lab1/processing_code/kmeans_preprocessing.py")
    yield lab
    server.shutdown()
    app.shutdown()


def processing_request(lab: Lab, name: str, image: str = SKLEARN_IMAGE) -> dict:
    """The lab's processing job: the script from S3 on the MNIST pickle, three CSV outputs."""
    base = f"s3://{BUCKET}/lab1"
    return {
        "ProcessingJobName": name,
        "RoleArn": lab.role_arn,
        "AppSpecification": {"ImageUri": image, "ContainerEntrypoint": [
            "python3", "/opt/ml/processing/input/code/kmeans_preprocessing.py"]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1,
                                                  "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 20}},
        "ProcessingInputs": [
            {"InputName": "mnist_tar", "S3Input": {
                "S3Uri": f"{base}/source_data/mnist.pkl.gz",
                "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix",
                "S3InputMode": "File"}},
            {"InputName": "source_code", "S3Input": {
                "S3Uri": f"{base}/processing_code/kmeans_preprocessing.py",
                "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
                "S3InputMode": "File"}},
        ],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": part, "S3Output": {
                "S3Uri": f"{base}/{name}/{part}", "LocalPath": f"/opt/ml/processing/output_{part}",
                "S3UploadMode": "EndOfJob"}} for part in ("train", "test", "valid")]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def training_request(lab: Lab, name: str, data_prefix: str, image: str | None = None,
                     hyperparameters: dict | None = None) -> dict:
    """A k-means training job on the processed CSVs (train and test channels)."""
    from wizard.kmeans_images import kmeans_image_uri

    def channel(part: str) -> dict:
        """One CSV channel under the processed data."""
        return {"ChannelName": part, "ContentType": "text/csv;label_size=0",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                "S3Uri": f"{data_prefix}/{part}",
                                                "S3DataDistributionType": "FullyReplicated"}}}

    return {
        "TrainingJobName": name,
        "RoleArn": lab.role_arn,
        "AlgorithmSpecification": {"TrainingImage": image or kmeans_image_uri(REGION),
                                   "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters if hyperparameters is not None else {
            "k": "10", "feature_dim": "784", "mini_batch_size": "500",
            "init_method": "kmeans++", "extra_center_factor": "8"},
        "InputDataConfig": [channel("train"), channel("test")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/lab1/models"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                           "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


@pytest.fixture(scope="session")
def processed(lab):
    """Run the lab's processing job once; the S3 prefix of its outputs."""
    lab.sm.create_processing_job(**processing_request(lab, "sm-preprocess"))
    out = lab.wait(lab.sm.describe_processing_job, "ProcessingJobName", "sm-preprocess",
                   "ProcessingJobStatus")
    assert out["ProcessingJobStatus"] == "Completed", out
    return f"s3://{BUCKET}/lab1/sm-preprocess"


@pytest.fixture(scope="session")
def trained(lab, processed):
    """Train k=10 once; the final DescribeTrainingJob."""
    lab.sm.create_training_job(**training_request(lab, "sm-kmeans", processed))
    out = lab.wait(lab.sm.describe_training_job, "TrainingJobName", "sm-kmeans",
                   "TrainingJobStatus")
    assert out["TrainingJobStatus"] == "Completed", out
    return out


def read_centroids(lab: Lab, model_url: str):
    """The centroids inside a model.tar.gz in S3."""
    import io
    import tarfile

    import numpy as np

    bucket, key = model_url[5:].split("/", 1)
    blob = lab.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        doc = json.loads(tar.extractfile("kmeans-model.json").read())
    return np.asarray(doc["centroids"], dtype=np.float64), doc
