"""The widgets the main screen is built from.

Each lives in its own module and is imported from there when first used (``from
wizard.tui.widgets import PaneLog`` works too): the first frame needs only the header and the
sidebar, and importing the others (RichLog, the form's fields) is start-up time it need not wait for.
"""

from importlib import import_module

_MODULES = {"DigitsView": "monitor", "InputForm": "form", "KeysFooter": "footer",
            "MonitorView": "monitor", "PaneLog": "log", "ProgressPanel": "progress",
            "StepList": "steps", "TargetBar": "header"}

__all__ = sorted(_MODULES)


def __getattr__(name: str):
    """The widget ``name``, imported from its module on first use."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
