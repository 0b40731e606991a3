"""``labwiz doctor``: named checks of the lab's environment for its known failures.

Public interface: :func:`run_checks`, :func:`list_checks`, :class:`CheckResult` and
:func:`doctor_target`. Nothing heavy is imported here; checks import their clients when they run.
"""

from wizard.doctor.model import CheckResult
from wizard.doctor.runner import doctor_target, list_checks, run_checks, summarize

__all__ = ["CheckResult", "doctor_target", "list_checks", "run_checks", "summarize"]
