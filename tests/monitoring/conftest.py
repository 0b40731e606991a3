"""Fixtures for run monitoring and ``labwiz terminate``: one sandbox per module, slowed down.

SageMaker's phases last ``LABWIZ_SAGEMAKER_DELAY`` seconds here (8 s instead of 0.3 s), so a job
stays InProgress long enough to be watched, and to be stopped, by a test: since a phase's work
runs during its pace (a floor, not an addition), a processing job lasts about three paces, and
at 4 s a loaded machine's `labwiz terminate` (a fresh process) once reached it after it ended. The other fixtures
(``lab``, ``aws``, ``kube``, ``sandbox_info``) are the lab steps' ones, on this sandbox.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_labwiz
from tests.steps.conftest import aws, kube, lab, sandbox_info  # noqa: F401

#: seconds per SageMaker status phase in this module's sandbox
PACE = "8"


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    """A running sandbox at a slow pace for the module; stopped afterwards."""
    home = tmp_path_factory.mktemp("sandbox-home")
    result = run_labwiz(["--state-dir", str(home), "sandbox", "up"], timeout=180,
                        env={"LABWIZ_SAGEMAKER_DELAY": PACE})
    assert result.returncode == 0, result.stdout + result.stderr
    yield home
    run_labwiz(["--state-dir", str(home), "sandbox", "down"], timeout=120)
