"""The lab's pipeline: MNIST k-means with SageMaker, from the generated ACK components.

processing → hyperparameter tuning → best hyperparameters → training → model container → model,
then endpoint config → endpoint, and (beside them) batch transform of the validation CSV.
``build_pipeline(components)`` loads the generated ``component.yaml`` files (``{Kind: path}``, as
the component-generation step outputs) and returns the ``@dsl.pipeline`` function to compile.
"""

# no "from __future__ import annotations": kfp reads the pipeline signature as real types

from pathlib import Path

PIPELINE_NAME = "mnist-classification-pipeline"
PIPELINE_DESCRIPTION = ("MNIST classification with k-means on Amazon SageMaker, driven through "
                        "ACK SageMaker custom resources.")
#: the generated components the pipeline needs
REQUIRED_KINDS = ("ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model",
                  "EndpointConfig", "Endpoint", "TransformJob")
#: display name of every task, in run order
TASKS = ("plan", "processing", "tuning", "best-hyperparameters", "training", "model-container",
         "model", "endpoint-config", "endpoint", "batch-transform")
#: pipeline parameters (the run's inputs) and what they mean
PARAMETERS = {
    "role_arn": "SageMaker execution role ARN (jobs run as this role)",
    "bucket": "S3 bucket holding the lab's data and artifacts",
    "region": "AWS region of the bucket and SageMaker",
    "prefix": "key prefix in the bucket (the lab's 'lab1')",
    "kmeans_image": "SageMaker k-means image of the region",
    "processing_image": "SageMaker scikit-learn processing image of the region",
    "data_uri": "S3 URI of mnist.pkl.gz (empty: <prefix>/source_data/mnist.pkl.gz)",
    "script_uri": "S3 URI of the preprocessing script (empty: <prefix>/processing_code/...)",
    "processing_instance_type": "instance type of the processing job",
    "training_instance_type": "instance type of tuning and training jobs",
    "endpoint_instance_type": "instance type of the endpoint",
    "transform_instance_type": "instance type of the batch transform",
    "max_jobs": "tuning: training jobs in all",
    "max_parallel_jobs": "tuning: training jobs at once",
    "poll_interval_seconds": "how often each component checks its custom resource",
}


class PipelineDefinitionError(ValueError):
    """The components given cannot make the lab's pipeline (a kind or an input is missing)."""


def _load(components: dict, kind: str):
    """Load one generated component, saying clearly which one is missing or broken."""
    from kfp import components as kfp_components

    path = components.get(kind)
    if not path or not Path(path).is_file():
        raise PipelineDefinitionError(
            f"the {kind} component is missing ({path or 'not generated'}); generate it with "
            f"'labwiz generate --crd {kind} --out components' or rerun component-generation")
    try:
        return kfp_components.load_component_from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - any load failure means a broken file
        raise PipelineDefinitionError(f"{path} is not a loadable KFP component: {exc}") from None


def build_pipeline(components: dict, *, region: str = "eu-west-1", bucket: str = "",
                   role_arn: str = "", prefix: str = "lab1"):
    """The lab's ``@dsl.pipeline`` function from the generated components.

    ``region``, ``bucket``, ``role_arn`` and ``prefix`` become the parameters' defaults (the
    images are the region's), so a person starting the run in the KFP UI only checks them.
    """
    from kfp import dsl

    from assets.pipeline import glue
    from wizard.kfp_ops.images import processing_image_uri
    from wizard.kmeans_images import kmeans_image_uri

    ops = {kind: _load(components, kind) for kind in REQUIRED_KINDS}
    kmeans_default = kmeans_image_uri(region)
    processing_default = processing_image_uri(region)

    def sagemaker(task, name: str):
        """Common settings of a SageMaker task: display name, no caching (each run is new)."""
        task.set_display_name(name)
        task.set_caching_options(False)
        return task

    @dsl.pipeline(name=PIPELINE_NAME, description=PIPELINE_DESCRIPTION)
    def mnist_classification_pipeline(
            role_arn: str = role_arn, bucket: str = bucket, region: str = region,
            prefix: str = prefix, kmeans_image: str = kmeans_default,
            processing_image: str = processing_default, data_uri: str = "",
            script_uri: str = "", processing_instance_type: str = "ml.m5.xlarge",
            training_instance_type: str = "ml.m5.xlarge",
            endpoint_instance_type: str = "ml.m5.large",
            transform_instance_type: str = "ml.m5.large", max_jobs: int = 2,
            max_parallel_jobs: int = 2, poll_interval_seconds: int = 30):
        """MNIST k-means: process, tune, train, deploy and batch-transform on SageMaker."""
        p = sagemaker(glue.plan(
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, bucket=bucket, prefix=prefix,
            role_arn=role_arn, processing_image=processing_image, kmeans_image=kmeans_image,
            data_uri=data_uri, script_uri=script_uri,
            processing_instance_type=processing_instance_type,
            training_instance_type=training_instance_type,
            endpoint_instance_type=endpoint_instance_type,
            transform_instance_type=transform_instance_type, max_jobs=max_jobs,
            max_parallel_jobs=max_parallel_jobs), "plan").outputs
        poll = {"poll_interval_seconds": poll_interval_seconds}
        processing = sagemaker(ops["ProcessingJob"](
            processing_job_name=p["proc_name"], role_arn=role_arn,
            app_specification=p["proc_app"], processing_inputs=p["proc_inputs"],
            processing_output_config=p["proc_outputs"],
            processing_resources=p["proc_resources"], stopping_condition=p["stopping"],
            **poll), "processing")
        tuning = sagemaker(ops["HyperParameterTuningJob"](
            hyper_parameter_tuning_job_name=p["hpo_name"],
            hyper_parameter_tuning_job_config=p["hpo_config"],
            training_job_definition=p["hpo_definition"], **poll), "tuning").after(processing)
        best = sagemaker(glue.best_hyperparameters(
            best_training_job=tuning.outputs["best_training_job"],
            static_hyperparameters=p["static_hp"]), "best-hyperparameters")
        training = sagemaker(ops["TrainingJob"](
            training_job_name=p["train_name"], role_arn=role_arn,
            algorithm_specification=p["algorithm"], hyper_parameters=best.output,
            input_data_config=p["channels"], output_data_config=p["train_output"],
            resource_config=p["train_resources"], stopping_condition=p["stopping"], **poll),
            "training")
        container = sagemaker(glue.model_container(
            model_artifacts=training.outputs["model_artifacts"], image=kmeans_image),
            "model-container")
        model = sagemaker(ops["Model"](
            model_name=p["model_name"], execution_role_arn=role_arn,
            primary_container=container.outputs["container"], **poll), "model")
        endpoint_config = sagemaker(ops["EndpointConfig"](
            endpoint_config_name=p["epc_name"], production_variants=p["variants"], **poll),
            "endpoint-config").after(model)
        sagemaker(ops["Endpoint"](
            endpoint_name=p["ep_name"], endpoint_config_name=p["epc_name"], **poll),
            "endpoint").after(endpoint_config)
        # kfp 2.16's local runner turns an unset optional int into int(None): pass them
        sagemaker(ops["TransformJob"](
            transform_job_name=p["bt_name"], model_name=p["model_name"],
            transform_input=p["bt_input"], transform_output=p["bt_output"],
            transform_resources=p["bt_resources"], batch_strategy="MultiRecord",
            max_concurrent_transforms=1, max_payload_in_mb=6, **poll),
            "batch-transform").after(model)

    return mnist_classification_pipeline
