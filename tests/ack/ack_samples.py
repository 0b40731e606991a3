"""Sample custom resources for the lab's kinds, written the way ACK's sample manifests are.

They use the lab's own values (k-means on MNIST in eu-west-1) and ACK's field names; the tests
check them against both the real ACK CRDs and the derived ones.
"""

from __future__ import annotations

ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution-role"
BUCKET = "s3://labwiz-sandbox-bucket"
IMAGE = "438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1"
API_VERSION = "sagemaker.services.k8s.aws/v1alpha1"


def _resource(kind: str, name: str, spec: dict) -> dict:
    """A custom resource object of ``kind``."""
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _s3_channel(name: str, uri: str) -> dict:
    """A training input channel reading CSV from an S3 prefix."""
    return {
        "channelName": name,
        "contentType": "text/csv",
        "compressionType": "None",
        "recordWrapperType": "None",
        "inputMode": "File",
        "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": uri,
                                        "s3DataDistributionType": "FullyReplicated"}},
    }


def training_job(name: str = "kmeans-mnist", role: str = ROLE) -> dict:
    """A k-means TrainingJob."""
    return _resource("TrainingJob", name, {
        "trainingJobName": name,
        "roleARN": role,
        "hyperParameters": {"k": "10", "feature_dim": "784", "mini_batch_size": "500"},
        "algorithmSpecification": {"trainingImage": IMAGE, "trainingInputMode": "File"},
        "inputDataConfig": [_s3_channel("train", f"{BUCKET}/lab1/train_data/")],
        "outputDataConfig": {"s3OutputPath": f"{BUCKET}/lab1/output/"},
        "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large",
                           "volumeSizeInGB": 5},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
        "enableNetworkIsolation": False,
        "tags": [{"key": "lab", "value": "kfp-sagemaker"}],
    })


def processing_job(name: str = "kmeans-preprocessing") -> dict:
    """A ProcessingJob running the lab's preprocessing script."""
    return _resource("ProcessingJob", name, {
        "processingJobName": name,
        "roleARN": ROLE,
        "appSpecification": {"imageURI": "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
                                          "sklearn:0.23-1",
                             "containerEntrypoint": ["python3",
                                                     "/opt/ml/processing/code/preprocess.py"]},
        "environment": {"PYTHONUNBUFFERED": "1"},
        "processingInputs": [{"inputName": "code", "s3Input": {
            "s3URI": f"{BUCKET}/lab1/processing_code/preprocess.py",
            "localPath": "/opt/ml/processing/code", "s3DataType": "S3Prefix",
            "s3InputMode": "File"}}],
        "processingOutputConfig": {"outputs": [{"outputName": "train", "s3Output": {
            "s3URI": f"{BUCKET}/lab1/train_data", "localPath": "/opt/ml/processing/train",
            "s3UploadMode": "EndOfJob"}}]},
        "processingResources": {"clusterConfig": {"instanceCount": 1,
                                                  "instanceType": "ml.m5.xlarge",
                                                  "volumeSizeInGB": 20}},
        "stoppingCondition": {"maxRuntimeInSeconds": 1800},
    })


def tuning_job(name: str = "kmeans-hpo") -> dict:
    """A HyperParameterTuningJob over k-means' mini batch size and extra centres."""
    return _resource("HyperParameterTuningJob", name, {
        "hyperParameterTuningJobName": name,
        "hyperParameterTuningJobConfig": {
            "strategy": "Bayesian",
            "hyperParameterTuningJobObjective": {"type_": "Minimize",
                                                 "metricName": "test:msd"},
            "resourceLimits": {"maxNumberOfTrainingJobs": 4, "maxParallelTrainingJobs": 2},
            "parameterRanges": {
                "integerParameterRanges": [{"name": "mini_batch_size", "minValue": "450",
                                            "maxValue": "550", "scalingType": "Auto"}],
                "categoricalParameterRanges": [{"name": "init_method",
                                                "values": ["kmeans++", "random"]}],
            },
            "trainingJobEarlyStoppingType": "Off",
        },
        "trainingJobDefinition": {
            "staticHyperParameters": {"k": "10", "feature_dim": "784"},
            "algorithmSpecification": {"trainingImage": IMAGE, "trainingInputMode": "File"},
            "roleARN": ROLE,
            "inputDataConfig": [_s3_channel("train", f"{BUCKET}/lab1/train_data/"),
                                _s3_channel("test", f"{BUCKET}/lab1/test_data/")],
            "outputDataConfig": {"s3OutputPath": f"{BUCKET}/lab1/hpo/"},
            "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large",
                               "volumeSizeInGB": 5},
            "stoppingCondition": {"maxRuntimeInSeconds": 3600},
        },
    })


def model(name: str = "kmeans-model") -> dict:
    """A Model from a training job's artifacts."""
    return _resource("Model", name, {
        "modelName": name,
        "executionRoleARN": ROLE,
        "primaryContainer": {"image": IMAGE, "modelDataURL": f"{BUCKET}/lab1/output/model.tar.gz",
                             "environment": {"SAGEMAKER_PROGRAM": "kmeans"}},
    })


def endpoint_config(name: str = "kmeans-config", model_name: str = "kmeans-model") -> dict:
    """An EndpointConfig with one variant."""
    return _resource("EndpointConfig", name, {
        "endpointConfigName": name,
        "productionVariants": [{"variantName": "AllTraffic", "modelName": model_name,
                                "initialInstanceCount": 1, "instanceType": "ml.m5.large",
                                "initialVariantWeight": 1.0}],
    })


def endpoint(name: str = "kmeans-endpoint", config_name: str = "kmeans-config") -> dict:
    """An Endpoint for an endpoint config."""
    return _resource("Endpoint", name, {"endpointName": name,
                                        "endpointConfigName": config_name})


def transform_job(name: str = "kmeans-transform", model_name: str = "kmeans-model") -> dict:
    """A batch TransformJob over CSV lines."""
    return _resource("TransformJob", name, {
        "transformJobName": name,
        "modelName": model_name,
        "maxPayloadInMB": 6,
        "batchStrategy": "MultiRecord",
        "transformInput": {"contentType": "text/csv", "splitType": "Line",
                           "dataSource": {"s3DataSource": {
                               "s3DataType": "S3Prefix",
                               "s3URI": f"{BUCKET}/lab1/transform_input/"}}},
        "transformOutput": {"s3OutputPath": f"{BUCKET}/lab1/transform_output/",
                            "assembleWith": "Line"},
        "transformResources": {"instanceCount": 1, "instanceType": "ml.m5.large"},
    })


def all_samples() -> list[dict]:
    """One sample per lab kind."""
    return [processing_job(), tuning_job(), training_job(), model(), endpoint_config(),
            endpoint(), transform_job()]
