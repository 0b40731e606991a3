"""SageMaker's errors as the API answers them (JSON 1.1: ``{"__type": code, "message": ...}``).

Messages follow SageMaker's wording, which clients and the ACK controller match on (for example
a missing training job is ``ValidationException: Requested resource not found.``).
"""

from __future__ import annotations


class SageMakerError(Exception):
    """One error answer: its code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        """Keep the code, message and HTTP status of the answer."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> SageMakerError:
    """A ``ValidationException``."""
    return SageMakerError("ValidationException", message)


def in_use(message: str) -> SageMakerError:
    """A ``ResourceInUse`` (a name that is taken)."""
    return SageMakerError("ResourceInUse", message)


def not_found(message: str) -> SageMakerError:
    """A ``ResourceNotFound``."""
    return SageMakerError("ResourceNotFound", message)


#: how SageMaker says "no such <kind>"; (code, message template with {name} and {arn})
NOT_FOUND = {
    "TrainingJob": ("ValidationException", "Requested resource not found."),
    "ProcessingJob": ("ValidationException", "Could not find requested job with name {name}"),
    "TransformJob": ("ValidationException", "Could not find requested job with name {name}"),
    "HyperParameterTuningJob": ("ResourceNotFound",
                                "Amazon SageMaker can't find a tuning job with name {name}"),
    "Model": ("ValidationException", 'Could not find model "{arn}".'),
    "EndpointConfig": ("ValidationException", 'Could not find endpoint configuration "{arn}".'),
    "Endpoint": ("ValidationException", 'Could not find endpoint "{arn}".'),
}

#: how SageMaker refuses a name that is taken
DUPLICATE = {
    "TrainingJob": ("ResourceInUse", "Training job names must be unique within an AWS account "
                    "and region, and a training job with this name already exists ({arn})"),
    "ProcessingJob": ("ResourceInUse", "Processing job names must be unique within an AWS "
                      "account and region, and a processing job with this name already exists "
                      "({arn})"),
    "TransformJob": ("ResourceInUse", "Transform job names must be unique within an AWS account "
                     "and region, and a transform job with this name already exists ({arn})"),
    "HyperParameterTuningJob": ("ResourceInUse", "Hyperparameter tuning job names must be unique "
                                "within an AWS account and region, and a tuning job with this "
                                "name already exists ({arn})"),
    "Model": ("ValidationException", 'Cannot create already existing model "{arn}".'),
    "EndpointConfig": ("ValidationException",
                       'Cannot create already existing endpoint configuration "{arn}".'),
    "Endpoint": ("ValidationException", 'Cannot create already existing endpoint "{arn}".'),
}


def missing(kind: str, name: str, arn: str) -> SageMakerError:
    """The not-found error for ``kind``."""
    code, template = NOT_FOUND[kind]
    return SageMakerError(code, template.format(name=name, arn=arn))


def duplicate(kind: str, name: str, arn: str) -> SageMakerError:
    """The name-taken error for ``kind``."""
    code, template = DUPLICATE[kind]
    return SageMakerError(code, template.format(name=name, arn=arn))


def limit_exceeded(instance_type: str, usage: str) -> SageMakerError:
    """AWS's service-quota refusal, e.g. usage ``training job usage`` or ``endpoint usage``."""
    return SageMakerError(
        "ResourceLimitExceeded",
        f"The account-level service limit '{instance_type} for {usage}' is 0 Instances, with "
        "current utilization of 0 Instances and a request delta of 1 Instances. Please use AWS "
        "Service Quotas to request an increase for this quota. If AWS Service Quotas is not "
        "available, contact AWS support to request an increase for this quota.",
    )


def cannot_assume(role_arn: str) -> SageMakerError:
    """SageMaker's refusal when it cannot assume an execution role."""
    return validation(
        f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
        "principal 'sagemaker.amazonaws.com' to assume the role."
    )
