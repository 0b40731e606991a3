"""The lab's SageMaker flow through boto3 against moto and the sandbox's SageMaker app:
processing -> training -> tuning -> model -> endpoint -> invoke, and batch transform."""

from __future__ import annotations

import gzip
import json
import pickle

import numpy as np

from tests.sagemaker.conftest import BUCKET, REGION, read_centroids, training_request


def test_processing_runs_the_real_script_and_writes_outputs(lab, processed):
    """The lab's script ran on the pickle and its CSVs match the splits."""
    out = lab.sm.describe_processing_job(ProcessingJobName="sm-preprocess")
    assert out["ProcessingJobStatus"] == "Completed"
    assert out["ProcessingEndTime"] >= out["ProcessingStartTime"]
    with gzip.open(lab.mnist, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")
    for part, split in (("train", train), ("test", test), ("valid", valid)):
        key = f"lab1/sm-preprocess/{part}/{part}_data.csv"
        text = lab.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        rows = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float32)
        assert rows.shape == split[0].shape  # features only: no label column
        assert np.allclose(rows, split[0], atol=1e-3)
    streams = lab.logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs",
                                            logStreamNamePrefix="sm-preprocess/algo-1-")
    assert streams["logStreams"]
    events = lab.logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs",
                                     logStreamName=streams["logStreams"][0]["logStreamName"])
    assert any("train_data.csv" in e["message"] for e in events["events"])


def test_training_writes_model_and_metrics(lab, trained):
    """Training walks its phases, writes the model and reports a true test:msd."""
    assert trained["SecondaryStatus"] == "Completed"
    steps = [t["Status"] for t in trained["SecondaryStatusTransitions"]]
    assert steps == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    url = trained["ModelArtifacts"]["S3ModelArtifacts"]
    assert url == f"s3://{BUCKET}/lab1/models/sm-kmeans/output/model.tar.gz"
    metrics = {m["MetricName"]: m["Value"] for m in trained["FinalMetricDataList"]}
    assert metrics["test:msd"] > 0
    centroids, doc = read_centroids(lab, url)
    assert centroids.shape == (10, 784) and doc["k"] == 10
    # the reported metric is the mean squared distance of the test split to those centroids
    test = _split(lab, "test")[0].astype(np.float64)
    d2 = ((test[:, None, :] - centroids[None]) ** 2).sum(-1).min(1)
    assert abs(d2.mean() - metrics["test:msd"]) < 1e-3 * metrics["test:msd"]
    stream = lab.logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                           logStreamNamePrefix="sm-kmeans/algo-1-")["logStreams"]
    assert len(stream) == 1 and stream[0]["logStreamName"].split("algo-1-")[1].isdigit()


def _split(lab, part):
    """One split of the offline MNIST, as (X, y)."""
    with gzip.open(lab.mnist, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")
    return {"train": train, "valid": valid, "test": test}[part]


def test_cluster_purity_beats_chance(lab, trained):
    """The trained clusters mostly hold one digit each."""
    centroids, _ = read_centroids(lab, trained["ModelArtifacts"]["S3ModelArtifacts"])
    X, y = _split(lab, "test")
    clusters = ((X[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)
    purity = sum(np.bincount(y[clusters == c]).max() for c in set(clusters.tolist())) / len(y)
    print(f"cluster purity on the test split (k=10): {purity:.3f} (chance is about 0.1)")
    assert purity > 0.5


def test_tuning_picks_the_best_objective(lab, processed):
    """Tuning runs its jobs within limits and ranges and picks the lowest test:msd."""
    base = training_request(lab, "unused", processed)
    lab.sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="sm-tune",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "extra_center_factor", "MinValue": "2",
                                            "MaxValue": "10"}],
                "CategoricalParameterRanges": [
                    {"Name": "mini_batch_size", "Values": ["200", "500", "800"]},
                    {"Name": "init_method", "Values": ["kmeans++", "random"]}],
            },
        },
        TrainingJobDefinition={
            "StaticHyperParameters": {"k": "10", "feature_dim": "784"},
            "AlgorithmSpecification": base["AlgorithmSpecification"],
            "RoleArn": lab.role_arn,
            "InputDataConfig": base["InputDataConfig"],
            "OutputDataConfig": base["OutputDataConfig"],
            "ResourceConfig": base["ResourceConfig"],
            "StoppingCondition": base["StoppingCondition"],
        },
        Tags=[{"Key": "labwiz:lineage", "Value": "tune-lineage"}],
    )
    out = lab.wait(lab.sm.describe_hyper_parameter_tuning_job, "HyperParameterTuningJobName",
                   "sm-tune", "HyperParameterTuningJobStatus")
    assert out["HyperParameterTuningJobStatus"] == "Completed", out
    assert out["TrainingJobStatusCounters"]["Completed"] == 3
    assert out["ObjectiveStatusCounters"]["Succeeded"] == 3
    jobs = lab.sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="sm-tune", MaxResults=10)["TrainingJobSummaries"]
    assert len(jobs) == 3
    values = {j["TrainingJobName"]: j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
              for j in jobs}
    best = out["BestTrainingJob"]
    assert best["TrainingJobName"] == min(values, key=values.get)
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == min(values.values())
    for job in jobs:
        name = job["TrainingJobName"]
        assert name.startswith("sm-tune-00") and len(name.rsplit("-", 1)[1]) == 8
        detail = lab.sm.describe_training_job(TrainingJobName=name)
        assert detail["TuningJobArn"] == out["HyperParameterTuningJobArn"]
        # the tuning job's tags are given to the jobs it launches, as SageMaker does
        assert lab.sm.list_tags(ResourceArn=detail["TrainingJobArn"])["Tags"] == [
            {"Key": "labwiz:lineage", "Value": "tune-lineage"}]
        assert detail["HyperParameters"]["_tuning_objective_metric"] == "test:msd"
        assert 2 <= int(detail["HyperParameters"]["extra_center_factor"]) <= 10
        assert detail["HyperParameters"]["mini_batch_size"] in ("200", "500", "800")
    # never more than MaxParallelTrainingJobs at once: the third started after one had ended
    details = sorted((lab.sm.describe_training_job(TrainingJobName=n) for n in values),
                     key=lambda d: d["CreationTime"])
    assert details[2]["CreationTime"] >= min(d["TrainingEndTime"] for d in details[:2])


def test_endpoint_serves_nearest_centroid(lab, trained):
    """The endpoint's answers are the nearest centroids of model.tar.gz."""
    from wizard.kmeans_images import kmeans_image_uri

    url = trained["ModelArtifacts"]["S3ModelArtifacts"]
    lab.sm.create_model(ModelName="sm-model", ExecutionRoleArn=lab.role_arn, PrimaryContainer={
        "Image": kmeans_image_uri(REGION), "ModelDataUrl": url})
    lab.sm.create_endpoint_config(EndpointConfigName="sm-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "sm-model", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    lab.sm.create_endpoint(EndpointName="sm-endpoint", EndpointConfigName="sm-config")
    assert lab.sm.describe_endpoint(EndpointName="sm-endpoint")["EndpointStatus"] == "Creating"
    out = lab.wait(lab.sm.describe_endpoint, "EndpointName", "sm-endpoint", "EndpointStatus")
    assert out["EndpointStatus"] == "InService", out
    assert out["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    centroids, _ = read_centroids(lab, url)
    X = _split(lab, "train")[0]
    sample = X[30:31]
    payload = ",".join(f"{v:g}" for v in sample[0])
    answer = lab.runtime.invoke_endpoint(EndpointName="sm-endpoint", ContentType="text/csv",
                                         Body=payload)
    result = json.loads(answer["Body"].read())
    d = np.sqrt(((sample.astype(np.float64) - centroids) ** 2).sum(1))
    pred = result["predictions"][0]
    assert pred["closest_cluster"] == float(d.argmin())
    assert abs(pred["distance_to_cluster"] - d.min()) < 1e-3
    # JSON works too, and several records answer in order
    body = json.dumps({"instances": [{"features": row.tolist()} for row in X[:5]]})
    many = json.loads(lab.runtime.invoke_endpoint(
        EndpointName="sm-endpoint", ContentType="application/json", Body=body)["Body"].read())
    want = ((X[:5, None, :].astype(np.float64) - centroids[None]) ** 2).sum(-1).argmin(1)
    assert [p["closest_cluster"] for p in many["predictions"]] == [float(w) for w in want]
    groups = lab.logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/sm-endp")
    assert groups["logGroups"]


def test_transform_predicts_every_line(lab, trained, processed):
    """Batch transform answers every line, with the right clusters."""
    lab.wait(lab.sm.describe_endpoint, "EndpointName", "sm-endpoint", "EndpointStatus") \
        if _exists(lab) else None
    from wizard.kmeans_images import kmeans_image_uri

    url = trained["ModelArtifacts"]["S3ModelArtifacts"]
    lab.sm.create_model(ModelName="sm-transform-model", ExecutionRoleArn=lab.role_arn,
                        PrimaryContainer={"Image": kmeans_image_uri(REGION), "ModelDataUrl": url})
    lab.sm.create_transform_job(
        TransformJobName="sm-transform", ModelName="sm-transform-model",
        BatchStrategy="MultiRecord", MaxPayloadInMB=1,
        TransformInput={"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"{processed}/valid/valid_data.csv"}},
            "ContentType": "text/csv", "SplitType": "Line", "CompressionType": "None"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/lab1/transform",
                         "AssembleWith": "Line", "Accept": "application/jsonlines"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    out = lab.wait(lab.sm.describe_transform_job, "TransformJobName", "sm-transform",
                   "TransformJobStatus")
    assert out["TransformJobStatus"] == "Completed", out
    text = lab.s3.get_object(Bucket=BUCKET, Key="lab1/transform/valid_data.csv.out")[
        "Body"].read().decode()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    X = _split(lab, "valid")[0]
    assert len(lines) == len(X)
    centroids, _ = read_centroids(lab, url)
    want = ((X[:, None, :].astype(np.float64) - centroids[None]) ** 2).sum(-1).argmin(1)
    assert [p["closest_cluster"] for p in lines] == [float(w) for w in want]


def _exists(lab):
    """Whether the flow's endpoint exists."""
    try:
        lab.sm.describe_endpoint(EndpointName="sm-endpoint")
        return True
    except lab.sm.exceptions.ClientError:
        return False
