"""Messages the runner's thread sends to the app (posting a message is thread-safe in Textual)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class StepLog(Message):
    """A line of narration from a running step."""

    def __init__(self, step_id: str, text: str, level: str) -> None:
        """Keep the message's fields."""
        super().__init__()
        self.step_id, self.text, self.level = step_id, text, level


class StepProgress(Message):
    """Progress of a piece of a running step's work (``total`` None when unknown)."""

    def __init__(self, step_id: str, task: str, done: float, total: float | None, unit: str) -> None:
        """Keep the message's fields."""
        super().__init__()
        self.step_id, self.task, self.done, self.total, self.unit = step_id, task, done, total, unit


class StepCommand(Message):
    """An equivalent command the step reported while doing the work."""

    def __init__(self, step_id: str, line: str) -> None:
        """Keep the message's fields."""
        super().__init__()
        self.step_id, self.line = step_id, line


class ShowData(Message):
    """A structured view (``graph``, ``resources``, ``digits``, ``table``, ``kv``) to draw."""

    def __init__(self, step_id: str, kind: str, data: Any) -> None:
        """Keep the message's fields."""
        super().__init__()
        self.step_id, self.kind, self.data = step_id, kind, data


class StateSaved(Message):
    """The runner saved the state document (a copy rides along)."""

    def __init__(self, doc: dict) -> None:
        """Keep the message's fields."""
        super().__init__()
        self.doc = doc
