"""One sandbox lab for the doctor's tests (starting one costs seconds; faults are reset per test)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from doctor_lab import Lab  # noqa: E402


@pytest.fixture(scope="session")
def doctor_lab(tmp_path_factory):
    """A running sandbox with the lab's first steps done."""
    lab = Lab(tmp_path_factory.mktemp("doctor") / "state").setup()
    yield lab
    lab.set_faults()
    lab.stop()


@pytest.fixture
def lab(doctor_lab):
    """The shared lab with faults cleared and the state rewritten after the test."""
    doctor_lab.set_faults()
    yield doctor_lab
    doctor_lab.set_faults()
    doctor_lab.write_state()
