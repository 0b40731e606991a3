"""The doctor's catalogue, one module per area; importing this package registers every check.

The order here is the order checks run in (slow ones are moved to the end by the runner).
"""

from wizard.doctor.checks import (  # noqa: F401 - imported for their registrations
    sandbox,
    aws,
    kube,
    iam,
    s3,
    ack,
    ack_watch,
    kfp,
    sagemaker,
    pipeline,
)
