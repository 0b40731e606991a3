"""Fixtures for the sandbox Kubernetes API server tests (helpers live in kube_helpers)."""

from __future__ import annotations

import shutil

import pytest

from kube_helpers import start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One seeded server per test module."""
    c = start_cluster(tmp_path_factory.mktemp("kube"))
    yield c
    c.server.stop()


@pytest.fixture(scope="session", autouse=True)
def _kubectl_present():
    """These tests drive the real kubectl; say so plainly when it is missing."""
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not on PATH; install kubectl v1.32 to run tests/kube")
