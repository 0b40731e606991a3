"""Access to botocore's SageMaker service model, loaded once per process.

botocore ships the API model as JSON; loading and resolving it takes a noticeable fraction of a
second, so both the CRD derivation and the controller share one cached copy.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def service_model() -> Any:
    """botocore's ``ServiceModel`` for SageMaker (imported here: botocore is heavy)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def operation(name: str) -> Any:
    """The ``OperationModel`` called ``name``; a ValueError says which kinds can be derived."""
    model = service_model()
    if name not in model.operation_names:
        raise ValueError(
            f"botocore's SageMaker model has no operation {name!r}; a kind needs both "
            "Create<Kind> and Describe<Kind> operations"
        )
    return model.operation_model(name)


def derivable_kinds() -> list[str]:
    """Every kind with both ``Create<Kind>`` and ``Describe<Kind>`` in the model, sorted."""
    names = set(service_model().operation_names)
    return sorted(
        op[len("Create"):]
        for op in names
        if op.startswith("Create") and "Describe" + op[len("Create"):] in names
    )
