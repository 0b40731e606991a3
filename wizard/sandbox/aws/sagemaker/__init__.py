"""The sandbox's SageMaker: the API, sagemaker-runtime and (through ``wizard.sandbox.compute``)
the work itself, as one WSGI app.

Public names: :func:`make_sagemaker_app` (in :mod:`.app`) and, in :mod:`.dispatch`,
:func:`~.dispatch.is_sagemaker_request` for a front that routes AWS calls. This module imports
nothing heavy; the app pulls in boto3 and numpy when it is built or first used.
"""

from __future__ import annotations

from typing import Any


def make_sagemaker_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`wizard.sandbox.aws.sagemaker.app.make_sagemaker_app`."""
    from .app import make_sagemaker_app as build

    return build(*args, **kwargs)


__all__ = ["make_sagemaker_app"]
