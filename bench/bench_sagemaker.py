"""Benchmark the sandbox's SageMaker: the lab's chain end to end, and the memory it takes.

Starts moto's server and the SageMaker service (``wizard.sandbox.aws.sagemaker.standalone``) as
their own processes, then times processing -> tuning (4 jobs, 2 at a time) -> training ->
endpoint -> invoke through boto3, sampling the resident memory of both process trees (workers
and scripts included) every 50 ms. Prints one JSON object per figure (see bench.common).
Run: ``.venv/bin/python -m bench.bench_sagemaker``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DELAY = 0.1  # seconds per simulated status phase (the sandbox's speed setting)
REGION = "eu-west-1"


def _free_port() -> int:
    """A free loopback port for moto."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(describe, key, name, field, timeout=300):
    """Poll a Describe call until its status is final."""
    deadline = time.monotonic() + timeout
    while True:
        out = describe(**{key: name})
        if out[field] in ("Completed", "Failed", "Stopped", "InService"):
            return out
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} still {out[field]}")
        time.sleep(0.05)


def main() -> int:
    """Run the chain and print the figures."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "sagemaker"))
    import boto3

    import conftest as lab_defs
    from bench.common import MemorySampler, report
    from wizard.kmeans_images import kmeans_image_uri
    from wizard.sandbox.mnist import build_mnist_pkl_gz

    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "PYTHONPATH": str(ROOT)}
    port = _free_port()
    moto = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H",
                             "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    moto_url = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-sm-"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    service = subprocess.Popen(
        [sys.executable, "-m", "wizard.sandbox.aws.sagemaker.standalone", "--data-dir",
         str(tmp / "sm"), "--aws-url", moto_url, "--region", REGION, "--delay", str(DELAY)],
        stdout=subprocess.PIPE, cwd=ROOT, env=env)
    url = json.loads(service.stdout.readline())["url"]
    sampler = MemorySampler({"moto": moto.pid, "sagemaker": service.pid})
    sampler.start()
    try:
        session = boto3.session.Session(aws_access_key_id="testing",
                                        aws_secret_access_key="testing", region_name=REGION)
        clients = {name: session.client(name, endpoint_url=url)
                   for name in ("sagemaker", "sagemaker-runtime", "s3", "iam")}

        class Lab:  # the shape the test helpers expect
            """The two attributes the request helpers of the tests read."""
            sm = clients["sagemaker"]
            role_arn = ""

        lab = Lab()
        clients["s3"].create_bucket(Bucket=lab_defs.BUCKET, CreateBucketConfiguration={
            "LocationConstraint": REGION})
        lab.role_arn = clients["iam"].create_role(
            RoleName=lab_defs.ROLE, AssumeRolePolicyDocument=json.dumps(lab_defs.TRUST))[
            "Role"]["Arn"]
        mnist = build_mnist_pkl_gz(tmp / "mnist.pkl.gz")
        clients["s3"].upload_file(str(mnist), lab_defs.BUCKET, "lab1/source_data/mnist.pkl.gz")
        clients["s3"].upload_file(str(ROOT / "assets/scripts/preprocess.py"), lab_defs.BUCKET,
                                  "lab1/processing_code/kmeans_preprocessing.py")
        sm = clients["sagemaker"]
        figures = {}
        start = time.perf_counter()

        t = time.perf_counter()
        sm.create_processing_job(**lab_defs.processing_request(lab, "bench-pre"))
        assert _wait(sm.describe_processing_job, "ProcessingJobName", "bench-pre",
                     "ProcessingJobStatus")["ProcessingJobStatus"] == "Completed"
        figures["processing"] = time.perf_counter() - t
        data = f"s3://{lab_defs.BUCKET}/lab1/bench-pre"

        t = time.perf_counter()
        base = lab_defs.training_request(lab, "x", data)
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="bench-tune",
            HyperParameterTuningJobConfig={
                "Strategy": "Bayesian",
                "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
                "ParameterRanges": {
                    "IntegerParameterRanges": [{"Name": "extra_center_factor", "MinValue": "4",
                                                "MaxValue": "10"}],
                    "CategoricalParameterRanges": [
                        {"Name": "mini_batch_size", "Values": ["450", "550", "650"]},
                        {"Name": "init_method", "Values": ["kmeans++", "random"]}]}},
            TrainingJobDefinition={
                "StaticHyperParameters": {"k": "10", "feature_dim": "784"},
                **{key: base[key] for key in ("AlgorithmSpecification", "RoleArn",
                                              "InputDataConfig", "OutputDataConfig",
                                              "ResourceConfig", "StoppingCondition")}})
        tune = _wait(sm.describe_hyper_parameter_tuning_job, "HyperParameterTuningJobName",
                     "bench-tune", "HyperParameterTuningJobStatus")
        assert tune["HyperParameterTuningJobStatus"] == "Completed", tune
        figures["tuning (4 jobs, 2 parallel)"] = time.perf_counter() - t

        t = time.perf_counter()
        best = tune["BestTrainingJob"]["TunedHyperParameters"]
        hp = {"k": "10", "feature_dim": "784", **best}
        sm.create_training_job(**lab_defs.training_request(lab, "bench-train", data,
                                                           hyperparameters=hp))
        trained = _wait(sm.describe_training_job, "TrainingJobName", "bench-train",
                        "TrainingJobStatus")
        assert trained["TrainingJobStatus"] == "Completed", trained
        figures["training"] = time.perf_counter() - t

        t = time.perf_counter()
        sm.create_model(ModelName="bench", ExecutionRoleArn=lab.role_arn, PrimaryContainer={
            "Image": kmeans_image_uri(REGION),
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"]})
        sm.create_endpoint_config(EndpointConfigName="bench", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "bench", "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}])
        sm.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
        assert _wait(sm.describe_endpoint, "EndpointName", "bench", "EndpointStatus")[
            "EndpointStatus"] == "InService"
        figures["endpoint to InService"] = time.perf_counter() - t

        body = ",".join(["0.25"] * 784)
        runtime = clients["sagemaker-runtime"]
        runtime.invoke_endpoint(EndpointName="bench", ContentType="text/csv", Body=body)
        times = []
        for _ in range(50):
            t = time.perf_counter()
            runtime.invoke_endpoint(EndpointName="bench", ContentType="text/csv", Body=body)
            times.append(time.perf_counter() - t)
        total = time.perf_counter() - start
    finally:
        sampler.stop()
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
        moto.terminate()
        moto.wait(timeout=30)
    for name, value in figures.items():
        report(f"{name} (phase delay {DELAY} s)", value, "s")
    times.sort()
    report("invoke endpoint, median of 50", times[len(times) // 2] * 1000, "ms")
    report("processing -> tuning -> training -> endpoint -> invoke", total, "s")
    report("peak RSS: SageMaker service + workers", sampler.peak["sagemaker"], "MiB")
    report("peak RSS: moto + SageMaker together", sampler.peak["total"], "MiB", "<= 1024")
    return 0


if __name__ == "__main__":
    sys.exit(main())
