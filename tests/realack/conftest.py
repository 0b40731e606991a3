"""The real ACK controller's tests run only where its binary is (LABWIZ_ACK_CONTROLLER or
labwiz's cache); elsewhere each module skips with one plain reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realack_harness import Duo, availability  # noqa: E402


@pytest.fixture(scope="module")
def duo(tmp_path_factory: pytest.TempPathFactory):
    """One sandbox with both controllers, shared by a module's tests."""
    binary, crds, why = availability()
    if binary is None:
        pytest.skip(f"real ACK controller tests skipped: {why}")
    pair = Duo(tmp_path_factory.mktemp("realack"), binary, crds)
    try:
        pair.start()
    except BaseException:
        pair.stop()
        raise
    yield pair
    pair.stop()
