"""The widgets the main screen is built from."""

from wizard.tui.widgets.form import InputForm
from wizard.tui.widgets.header import TargetBar
from wizard.tui.widgets.log import PaneLog
from wizard.tui.widgets.monitor import DigitsView, MonitorView
from wizard.tui.widgets.progress import ProgressPanel
from wizard.tui.widgets.steps import StepList

__all__ = ["DigitsView", "InputForm", "MonitorView", "PaneLog", "ProgressPanel", "StepList", "TargetBar"]
