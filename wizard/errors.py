"""Errors that labwiz explains: each carries a remediation and an exit code.

Front-ends show ``message`` and ``remediation``; the CLI exits with ``exit_code``. Anything that is
not a :class:`LabwizError` is a bug or an unexpected failure of a service, and is reported as such.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The CLI's documented exit codes (see README's table); ints, so ``sys.exit`` takes them."""

    OK = 0
    STEP_FAILED = 1          # a step failed; the resume command is printed
    USAGE = 2                # bad options, bad input, or an input that is needed and missing
    STATE = 3                # the state file is corrupted, too new, or invalid
    LOCKED = 4               # another labwiz holds the lab's lock
    ENVIRONMENT = 5          # the sandbox or a service could not be reached or started
    CHECKS_FAILED = 6        # `labwiz doctor` found a failing check
    INTERRUPTED = 130        # Ctrl-C


class LabwizError(Exception):
    """An error with a message for people, a remediation, and an exit code."""

    exit_code = ExitCode.STEP_FAILED

    def __init__(self, message: str, remediation: str = "", *, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.remediation = remediation
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class StateError(LabwizError):
    """The state file cannot be used as it is."""

    exit_code = ExitCode.STATE


class LockHeld(LabwizError):
    """Another process holds the lab's lock."""

    exit_code = ExitCode.LOCKED

    def __init__(self, message: str, remediation: str = "", holder: dict | None = None):
        super().__init__(message, remediation)
        self.holder = holder or {}


class InputError(LabwizError):
    """A value the user gave (or must give) is not acceptable."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, remediation: str = "", *, field: str | None = None):
        super().__init__(message, remediation)
        self.field = field


class StepError(LabwizError):
    """A step could not do its work; the message says why and the remediation what to do."""

    exit_code = ExitCode.STEP_FAILED


class StepDeclined(LabwizError):
    """The learner answered no to a step's confirmation: a choice, not a failure. The runner
    records the step as skipped (declined) with this message (what remains) and remediation
    (the command that does it later); the run goes on and ends with exit 0."""

    exit_code = ExitCode.OK


class NotReadyError(StepError):
    """A step whose work is not available in this version of labwiz."""


class EnvironmentProblem(LabwizError):
    """A service the lab needs (AWS, the cluster, Kubeflow Pipelines, the sandbox) is not usable."""

    exit_code = ExitCode.ENVIRONMENT
