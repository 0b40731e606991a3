"""Fixtures for the endpoint test and cleanup: the lab steps' sandbox fixtures, reused."""

from tests.steps.conftest import aws, kube, lab, sandbox_home, sandbox_info  # noqa: F401
