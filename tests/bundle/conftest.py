"""A sandbox lab for the bundle's tests (the doctor tests' :class:`Lab`, its own instance)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "doctor"))

from doctor_lab import Lab  # noqa: E402


@pytest.fixture(scope="session")
def bundle_lab(tmp_path_factory):
    """A running sandbox with the lab's first steps done."""
    lab = Lab(tmp_path_factory.mktemp("bundle") / "state").setup()
    yield lab
    lab.stop()
