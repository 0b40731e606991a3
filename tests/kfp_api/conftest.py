"""Fixtures for the KFP API server tests: compiled pipelines, a live server, a real client."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def pipelines(tmp_path_factory) -> dict[str, Path]:
    """Every test pipeline, compiled once per session by the real kfp compiler."""
    from kfp_pipelines import compile_all

    return compile_all(tmp_path_factory.mktemp("compiled"))


def make_client(url: str, **kwargs):
    """A kfp.Client for ``url`` without the SDK's FutureWarning or a user context file."""
    import kfp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kfp.Client(host=url, **kwargs)


@pytest.fixture(scope="module")
def kfp_server(tmp_path_factory):
    """One server per test module (runs are independent, ids are unique)."""
    from wizard.sandbox.kfp_api import KfpApiServer

    data = tmp_path_factory.mktemp("kfp-data")
    server = KfpApiServer(data, run_env={"LABWIZ_KFP_TEST_VAR": "from-run-env"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(kfp_server):
    """A real kfp.Client talking to the module's server."""
    return make_client(kfp_server.url)
