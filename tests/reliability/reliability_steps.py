"""Two tiny steps for the engine's teardown rule (loaded through LABWIZ_STEPS): ``build`` makes a
file, ``teardown`` (a lab-finishing step, like cleanup) removes it and can be told to fail after
removing it, as a cleanup killed or failing half-way would leave things."""

from __future__ import annotations

import os
from pathlib import Path

from wizard.errors import StepError
from wizard.protocol import Resource, Step, VerifyResult


def _workdir() -> Path:
    """Where the steps keep their files and run counters."""
    path = Path(os.environ["LABWIZ_TEST_WORKDIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _count(step_id: str) -> None:
    """Count one run of ``step_id``."""
    counter = _workdir() / f"{step_id}.runs"
    counter.write_text(str(int(counter.read_text()) + 1 if counter.exists() else 1))


class BuildStep(Step):
    """Creates ``build.txt``; its check fails once the file is gone."""

    id = "build"
    title = "Build"

    def run(self, ctx, reporter):
        """Make the file and record it."""
        _count(self.id)
        target = _workdir() / "build.txt"
        target.write_text("made")
        ctx.ledger.record(Resource(kind="file", name=str(target), step=self.id))
        return {"path": str(target)}

    def verify(self, ctx, outputs):
        """The file still exists."""
        ok = Path(outputs.get("path", "")).exists()
        return VerifyResult(ok, "" if ok else "the file is gone")


class TeardownStep(Step):
    """Removes ``build.txt``; fails afterwards when ``LABWIZ_TEST_FAIL=teardown``."""

    id = "teardown"
    title = "Teardown"
    finishes_lab = True

    def run(self, ctx, reporter):
        """Remove the file, then maybe fail as a half-done cleanup."""
        _count(self.id)
        (_workdir() / "build.txt").unlink(missing_ok=True)
        if os.environ.get("LABWIZ_TEST_FAIL") == self.id:
            raise StepError("teardown was told to fail", remediation="unset LABWIZ_TEST_FAIL")
        return {"removed": 1}


STEPS = [BuildStep, TeardownStep]
