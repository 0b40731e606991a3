"""Modal dialogs: each is a ``ModalScreen`` that dismisses with a result the app acts on.

Each dialog is imported from its module when first used (``dialogs.ErrorDialog`` or ``from
wizard.tui.dialogs import ErrorDialog``): the first frame shows none of them, and their modules
bring in widgets (Select, Input, ProgressBar) that it does not need either.
"""

from wizard.tui.lazy import lazy_exports

_MODULES = {"ConfirmDialog": "ask", "ErrorDialog": "error", "InfoDialog": "info",
            "PromptDialog": "ask", "ResumeDialog": "resume", "WorkingDialog": "working"}

__all__ = sorted(_MODULES)

__getattr__ = lazy_exports(__name__, _MODULES)
