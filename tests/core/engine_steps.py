"""Steps whose timing and effects the engine tests control (loaded through LABWIZ_STEPS).

Each step counts its runs in ``<workdir>/<id>.runs`` and creates a file as its "resource", so a
test can tell exactly what ran and what was repeated after a kill.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from wizard.errors import InputError, StepError
from wizard.protocol import InputSpec, Resource, Step, VerifyResult, cmd


def _workdir() -> Path:
    path = Path(os.environ["LABWIZ_TEST_WORKDIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _count(step_id: str) -> None:
    counter = _workdir() / f"{step_id}.runs"
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))


class FileStep(Step):
    """Creates ``<workdir>/<id>.txt``; verify checks the file still exists."""

    id = "alpha"
    title = "Alpha"
    creates = ("file",)

    def run(self, ctx, reporter):
        _count(self.id)
        target = _workdir() / f"{self.id}.txt"
        reporter.command(cmd("touch", str(target)))
        target.write_text("made")
        if os.environ.get("LABWIZ_TEST_KILL") == self.id:  # dies as a SIGKILL leaves it
            os.kill(os.getpid(), signal.SIGKILL)
        ctx.ledger.record(Resource(kind="file", name=str(target), step=self.id))
        return {"path": str(target)}

    def verify(self, ctx, outputs):
        ok = Path(outputs.get("path", "")).exists()
        return VerifyResult(ok, "" if ok else "the file is gone")

    def commands(self, ctx):
        return [cmd("touch", f"{_workdir()}/{self.id}.txt")]


class SlowStep(FileStep):
    """Works in ticks (``LABWIZ_TEST_TICKS`` × 0.2 s), reporting progress, so it can be killed midway."""

    id = "beta"
    title = "Beta"

    def run(self, ctx, reporter):
        ticks = int(os.environ.get("LABWIZ_TEST_TICKS", "1"))
        for i in range(ticks):
            reporter.progress("working", i, ticks)
            (_workdir() / "beta.tick").write_text(str(i))
            time.sleep(0.2)
        reporter.progress("working", ticks, ticks)
        if os.environ.get("LABWIZ_TEST_FAIL") == self.id:
            raise StepError("beta was told to fail", remediation="unset LABWIZ_TEST_FAIL")
        return super().run(ctx, reporter)


def _validate_name(value, ctx):
    if not str(value).isidentifier():
        raise InputError(f"'{value}' is not a name.", remediation="Use letters and underscores.")
    return str(value)


class SecretStep(FileStep):
    """Takes a secret input, uses it, and even tries to log it: it must be masked everywhere."""

    id = "gamma"
    title = "Gamma"

    def input_specs(self):
        return [InputSpec("user_name", "A user name", validate=_validate_name, default="learner"),
                InputSpec("api_token", "An API token", secret=True)]

    def run(self, ctx, reporter):
        token = ctx.input("api_token")
        reporter.log(f"using token {token.reveal()} for {ctx.input('user_name')}")
        reporter.command(cmd("curl", "-H", f"Authorization: Bearer {token.reveal()}", "http://x"))
        import logging

        logging.getLogger("test").info("raw token in a log call: %s", token.reveal())
        out = super().run(ctx, reporter)
        return {**out, "user": ctx.input("user_name")}


STEPS = [FileStep, SlowStep, SecretStep]


class FinishingStep(FileStep):
    """Like cleanup: once done, the lab is complete."""

    id = "delta"
    title = "Delta"
    finishes_lab = True


FINISHING = [FileStep, FinishingStep]
