"""A one-task pipeline the doctor's tests start as a real KFP run in the sandbox."""

# no `from __future__ import annotations`: kfp reads the real annotation objects
from kfp import dsl


@dsl.component(base_image="python:3.11")
def double(x: int) -> int:
    """Return twice ``x`` (any quick task will do: the tests care about the run's state)."""
    return 2 * x


@dsl.pipeline(name="doctor-one-task")
def one_task(x: int = 2):
    """One task, so a run finishes in seconds once it is allowed to start."""
    double(x=x)
