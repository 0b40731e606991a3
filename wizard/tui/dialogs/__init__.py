"""Modal dialogs: each is a ``ModalScreen`` that dismisses with a result the app acts on.

Each dialog is imported from its module when first used (``dialogs.ErrorDialog`` or ``from
wizard.tui.dialogs import ErrorDialog``): the first frame shows none of them, and their modules
bring in widgets (Select, Input, ProgressBar) that it does not need either.
"""

from importlib import import_module

_MODULES = {"ConfirmDialog": "ask", "ErrorDialog": "error", "InfoDialog": "info",
            "PromptDialog": "ask", "ResumeDialog": "resume", "WorkingDialog": "working"}

__all__ = sorted(_MODULES)


def __getattr__(name: str):
    """The dialog ``name``, imported from its module on first use."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
