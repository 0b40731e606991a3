"""The inputs form of a step: one field per ``InputSpec``, prefilled, with inline errors."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.markup import escape
from textual.containers import VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from wizard.tui.model import input_display


class InputForm(VerticalScroll):
    """Fields for a step's inputs; ``values()`` reads them and ``show_errors`` marks bad ones."""

    def __init__(self, **kwargs) -> None:
        """Start empty; :meth:`build` adds the fields."""
        super().__init__(**kwargs)
        self.specs: list = []
        self.step_id: str | None = None
        self._built = False
        self._pending: dict[str, Any] | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        """Whether the fields of the current step exist."""
        return self._built

    async def build(self, step_id: str, specs: list, choices: dict[str, list], blink: bool) -> None:
        """Replace the fields with those of ``step_id`` (values come later from :meth:`fill`)."""
        self._generation += 1
        generation = self._generation
        self.step_id, self.specs = step_id, list(specs)
        self._built, self._pending = False, None
        # builds are serialised (moving fast through the sidebar must not mount two sets of fields
        # with the same ids), and a build overtaken by a newer one is dropped
        async with self._lock:
            if generation == self._generation:
                await self._build(step_id, choices, blink, generation)

    async def _build(self, step_id: str, choices: dict[str, list], blink: bool,
                     generation: int) -> None:
        """Mount the fields of one step (under the build lock)."""
        await self.remove_children()
        widgets = []
        if not self.specs:
            widgets.append(Static("This step needs no input.", classes="help"))
        for spec in self.specs:
            mark = " *" if spec.required else ""
            widgets.append(Label(f"{escape(spec.prompt)}{mark}", classes="field-label"))
            options = choices.get(spec.name) or []
            if spec.kind == "confirm":
                widgets.append(Checkbox(spec.name, id=f"in-{spec.name}"))
            elif options:
                widgets.append(Select([(str(c), c) for c in options], id=f"in-{spec.name}"))
            else:
                hint = "comma-separated" if spec.kind == "multi" else spec.name
                field = Input(password=spec.secret, placeholder=hint, id=f"in-{spec.name}",
                              classes="field")
                field.cursor_blink = blink
                widgets.append(field)
            if spec.help:
                widgets.append(Static(escape(spec.help), classes="help"))
            widgets.append(Static("", id=f"err-{spec.name}", classes="field-error"))
        widgets.append(Button("Run this step", id="run-step", variant="primary"))
        await self.mount_all(widgets)
        if generation != self._generation:
            return  # a newer build is waiting for the lock and will replace these fields
        self._built = True
        if self._pending is not None:
            self.fill(step_id, self._pending)

    def fill(self, step_id: str, values: dict[str, Any]) -> None:
        """Put prefilled values in empty fields (kept until the fields exist; ignored when another
        step is shown by now). A field the user already typed in is left as it is."""
        if step_id != self.step_id:
            return
        if not self._built:
            self._pending = values
            return
        for spec in self.specs:
            value = values.get(spec.name)
            field = self.query_one(f"#in-{spec.name}")
            if isinstance(field, Input) and field.value:
                continue
            if isinstance(field, Checkbox):
                field.value = bool(value)
            elif isinstance(field, Select):
                if value is not None:
                    try:
                        field.value = value
                    except Exception:  # noqa: BLE001 - a saved value no longer offered stays blank
                        pass
            else:
                field.value = input_display(value)

    def values(self) -> dict[str, Any] | None:
        """The fields' current values, typed by the input's kind (empty text is left out);
        None while the fields are still being built."""
        if not self._built:
            return None
        out: dict[str, Any] = {}
        for spec in self.specs:
            field = self.query_one(f"#in-{spec.name}")
            if isinstance(field, Checkbox):
                out[spec.name] = field.value
            elif isinstance(field, Select):
                if field.value is not Select.BLANK:
                    out[spec.name] = field.value
            elif field.value.strip():
                text = field.value if spec.secret else field.value.strip()
                out[spec.name] = [p.strip() for p in text.split(",") if p.strip()] \
                    if spec.kind == "multi" else text
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        """Write each field's error under it (and clear the others)."""
        if not self._built:
            return
        for spec in self.specs:
            self.query_one(f"#err-{spec.name}", Static).update(escape(errors.get(spec.name, "")))
        for name in errors:
            self.query_one(f"#in-{name}").focus()
            break
