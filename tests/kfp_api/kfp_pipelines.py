"""Small pipelines the kfp_api tests compile with the real kfp compiler."""

# no `from __future__ import annotations`: kfp reads the real annotation objects
import warnings
from pathlib import Path

from kfp import compiler, dsl

warnings.filterwarnings("ignore", category=FutureWarning)
IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def add(a: int, b: int) -> int:
    """Add two numbers."""
    print(f"adding {a} and {b}")
    return a + b


@dsl.component(base_image=IMAGE)
def describe(total: int, label: str) -> str:
    """Format the sum."""
    return f"{label}={total}"


@dsl.component(base_image=IMAGE)
def explode(x: int) -> int:
    """Always fail, with a recognisable message."""
    raise ValueError(f"explode refused {x}")


@dsl.component(base_image=IMAGE)
def sleeper(seconds: float) -> str:
    """Sleep, printing first so a test can see the task started."""
    import time
    print("sleeper started", flush=True)
    time.sleep(seconds)
    return "awake"


@dsl.component(base_image=IMAGE)
def read_env(name: str) -> str:
    """Return an environment variable of the task's process."""
    import os
    return os.environ.get(name, "<unset>")


@dsl.component(base_image=IMAGE, packages_to_install=["PyYAML"])
def uses_yaml(text: str) -> str:
    """Import a package named in packages_to_install (installed already: offline must work)."""
    import yaml
    return yaml.safe_dump({"text": text}).strip()


@dsl.component(base_image=IMAGE, packages_to_install=["labwiz-no-such-package-xyz"])
def needs_missing() -> str:
    """Ask for a package that is not installed: offline, pip must fail fast and say so."""
    return "unreachable"


@dsl.pipeline(name="sum-pipeline")
def sum_pipeline(a: int = 1, b: int = 2, label: str = "total") -> str:
    """Two tasks, the second consuming the first's output."""
    first = add(a=a, b=b)
    return describe(total=first.output, label=label).output


@dsl.pipeline(name="failing-pipeline")
def failing_pipeline(x: int = 7):
    """A failing task and a downstream task that must never run."""
    add(a=explode(x=x).output, b=1)


@dsl.pipeline(name="sleep-pipeline")
def sleep_pipeline(seconds: float = 60.0):
    """One long task, for terminate and restart tests."""
    sleeper(seconds=seconds)


@dsl.pipeline(name="env-pipeline")
def env_pipeline(name: str = "LABWIZ_KFP_TEST_VAR"):
    """Reads run_env through a component, and installs an already-present package."""
    read_env(name=name)
    uses_yaml(text="offline")


@dsl.pipeline(name="missing-package-pipeline")
def missing_package_pipeline():
    """A component whose packages_to_install cannot be satisfied offline."""
    needs_missing()


@dsl.pipeline(name="inner")
def inner(a: int = 1) -> int:
    """A pipeline used as a component of another."""
    return add(a=a, b=10).output


@dsl.pipeline(name="nested-pipeline")
def nested_pipeline(a: int = 5, flag: str = "yes"):
    """A nested pipeline plus a dsl.If branch that runs and one that is skipped."""
    sub = inner(a=a)
    with dsl.If(flag == "yes"):
        describe(total=sub.output, label="taken")
    with dsl.If(flag == "no"):
        describe(total=sub.output, label="skipped")


@dsl.pipeline(name="loop-pipeline")
def loop_pipeline():
    """A dsl.ParallelFor, which the sandbox refuses with a clear run error."""
    with dsl.ParallelFor([1, 2]) as item:
        add(a=item, b=1)


PIPELINES = {
    "sum": sum_pipeline, "failing": failing_pipeline, "sleep": sleep_pipeline,
    "env": env_pipeline, "missing": missing_package_pipeline, "nested": nested_pipeline,
    "loop": loop_pipeline,
}


def compile_all(directory: Path) -> dict[str, Path]:
    """Compile every pipeline to ``directory/<key>.yaml``; return the paths by key."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, func in PIPELINES.items():
        path = directory / f"{key}.yaml"
        compiler.Compiler().compile(func, str(path))
        paths[key] = path
    return paths
