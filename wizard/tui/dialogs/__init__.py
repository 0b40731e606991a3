"""Modal dialogs: each is a ``ModalScreen`` that dismisses with a result the app acts on."""

from wizard.tui.dialogs.ask import ConfirmDialog, PromptDialog
from wizard.tui.dialogs.error import ErrorDialog
from wizard.tui.dialogs.info import InfoDialog
from wizard.tui.dialogs.resume import ResumeDialog
from wizard.tui.dialogs.working import WorkingDialog

__all__ = ["ConfirmDialog", "ErrorDialog", "InfoDialog", "PromptDialog", "ResumeDialog", "WorkingDialog"]
