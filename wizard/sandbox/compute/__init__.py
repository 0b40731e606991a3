"""SageMaker's compute, done for real on this machine, in worker processes.

The SageMaker API (``wizard.sandbox.aws.sagemaker``) keeps the resources and their statuses; for
the work itself it starts ``python -m wizard.sandbox.compute.worker`` through
:class:`~wizard.sandbox.compute.supervisor.WorkerPool`. A worker reads one task (JSON on stdin),
does it against S3 and CloudWatch Logs through boto3, and reports progress as JSON lines on
stdout. Modules:

* :mod:`.supervisor` - the pool that runs workers (bounded, stoppable, never blocks the API)
* :mod:`.worker` - the worker's entry point and event protocol
* :mod:`.processing` - processing jobs: the job's own script with python
* :mod:`.training` - training jobs with SageMaker's k-means algorithm
* :mod:`.kmeans` - the k-means algorithm itself: hyperparameters, fitting, the model file
* :mod:`.serving` - hosting (model loading) and batch transform
* :mod:`.s3io`, :mod:`.cwlogs` - S3 transfers and CloudWatch Logs streams
"""
