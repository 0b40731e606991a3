"""The lab's steps, in order.

``LABWIZ_STEPS=module:attribute`` replaces the lab with another list of step classes; the engine's
own tests use it to drive the runner with steps whose timing they control.
"""

from __future__ import annotations

import importlib
import os

from wizard.errors import InputError
from wizard.protocol import Step

LAB_STEPS = (
    "steps.credentials:CredentialsStep",
    "steps.data_upload:DataUploadStep",
    "steps.crd_selection:CrdSelectionStep",
    "steps.component_generation:ComponentGenerationStep",
    "steps.compile:CompileStep",
    "steps.upload:UploadStep",
    "steps.run_monitoring:RunMonitoringStep",
    "steps.endpoint_test:EndpointTestStep",
    "steps.cleanup:CleanupStep",
)


def _load(path: str):
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def load_steps() -> list[Step]:
    """Instances of the lab's steps, in order."""
    override = os.environ.get("LABWIZ_STEPS")
    if override:
        try:
            classes = _load(override)
        except (ImportError, AttributeError, ValueError) as exc:
            raise InputError(f"LABWIZ_STEPS={override} cannot be loaded: {exc}.",
                             remediation="Unset LABWIZ_STEPS to run the lab.") from None
        return [cls() for cls in classes]
    return [_load(path)() for path in LAB_STEPS]


def step_ids() -> list[str]:
    """The ids of the steps, in order."""
    return [s.id for s in load_steps()]
