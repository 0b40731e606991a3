"""ACK for the offline sandbox: SageMaker CRDs derived from botocore, and an ACK-like controller.

Public interface (imports are lazy so that importing this package stays cheap):

* :func:`derive_crds` - CRDs for the lab's kinds (or any derivable kind) from botocore's model.
* :func:`fidelity` - how many of the real ACK CRD's field names the derived CRDs have.
* :class:`AckController` - reconciles the custom resources against SageMaker through boto3.
* :func:`ack_field_name` - ACK's naming rule for one botocore member name.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "derive_crds": "wizard.sandbox.ack.crds",
    "derive_crd": "wizard.sandbox.ack.crds",
    "fidelity": "wizard.sandbox.ack.fidelity",
    "fidelity_report": "wizard.sandbox.ack.fidelity",
    "ack_field_name": "wizard.sandbox.ack.names",
    "AckController": "wizard.sandbox.ack.controller",
    "install_crds": "wizard.sandbox.ack.install",
    "LAB_KINDS": "wizard.sandbox.ack.resources",
    "GROUP": "wizard.sandbox.ack.resources",
    "VERSION": "wizard.sandbox.ack.resources",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
