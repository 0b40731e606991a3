"""The widgets the main screen is built from.

Each lives in its own module and is imported from there when first used (``from
wizard.tui.widgets import PaneLog`` works too): the first frame needs only the header and the
sidebar, and importing the others (RichLog, the form's fields) is start-up time it need not wait for.
"""

from wizard.tui.lazy import lazy_exports

_MODULES = {"DigitsView": "monitor", "InputForm": "form", "KeysFooter": "footer",
            "MonitorView": "monitor", "PaneLog": "log", "ProgressPanel": "progress",
            "StepList": "steps", "TargetBar": "header"}

__all__ = sorted(_MODULES)

__getattr__ = lazy_exports(__name__, _MODULES)
