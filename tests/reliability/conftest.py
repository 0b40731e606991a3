"""Fixtures for the reliability tests: the lab-step fixtures (a module sandbox, a fresh lab per
test) shared from ``tests/steps``, so both areas start sandboxes the same way."""

from tests.steps.conftest import aws, kube, lab, sandbox_home, sandbox_info  # noqa: F401
