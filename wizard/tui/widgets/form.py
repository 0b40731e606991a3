"""The inputs form of a step: one field per ``InputSpec``, prefilled, with inline errors."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.markup import escape
from types import SimpleNamespace

from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Select, Static

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
        main = [s for s in self.specs if s.level != "advanced"]
        advanced = [s for s in self.specs if s.level == "advanced"]
        widgets.extend(self._field(spec, choices, blink) for spec in main)
        if advanced:
            # the defaults suit almost every lab: out of the way until asked for
            widgets.append(Collapsible(*[self._field(spec, choices, blink) for spec in advanced],
                                       title=f"Advanced settings ({len(advanced)}): the defaults "
                                       "suit most labs", collapsed=bool(main), id="advanced"))
        widgets.append(Button("Run this step", id="run-step", variant="primary"))
        await self.mount_all(widgets)
        if generation != self._generation:
            return  # a newer build is waiting for the lock and will replace these fields
        self._built = True
        if self._pending is not None:
            self.fill(step_id, self._pending)

    @staticmethod
    def _field(spec, choices: dict[str, list], blink: bool) -> Vertical:
        """One input's label, field, help and error line, in a box that can be hidden whole."""
        mark = " *" if spec.required else ""
        found = " [dim](found for you)[/dim]" if spec.level == "detected" else ""
        parts = [Label(f"{escape(spec.prompt)}{mark}{found}", classes="field-label")]
        options = choices.get(spec.name) or []
        if spec.kind == "confirm":
            parts.append(Checkbox(spec.name, id=f"in-{spec.name}"))
        elif options:
            parts.append(Select([(str(c), c) for c in options], id=f"in-{spec.name}"))
        else:
            hint = "comma-separated" if spec.kind == "multi" else spec.name
            field = Input(password=spec.secret, placeholder=hint, id=f"in-{spec.name}",
                          classes="field")
            field.cursor_blink = blink
            parts.append(field)
        if spec.help:
            parts.append(Static(escape(spec.help), classes="help"))
        parts.append(Static("", id=f"err-{spec.name}", classes="field-error"))
        return Vertical(*parts, id=f"field-{spec.name}", classes="field-box")

    def _applies(self, spec) -> bool:
        """Whether ``spec`` applies with the values on the form now (see ``InputSpec.applies``)."""
        if spec.applies is None:
            return True
        current = self._current_values()
        view = SimpleNamespace(input=lambda name, default=None: current.get(name, default),
                               inputs=current, target=getattr(self.app, "target", None),
                               outputs_of=lambda _step: {})
        try:
            return bool(spec.applies(view))
        except Exception:  # noqa: BLE001 - unknown: show the field
            return True

    def refresh_applicable(self) -> None:
        """Hide the fields that do not apply (a CRD path while the source is not 'path')."""
        if not self._built:
            return
        for spec in self.specs:
            self.query_one(f"#field-{spec.name}").display = self._applies(spec)

    def on_select_changed(self, event: Select.Changed) -> None:
        """A choice changed: other fields may now apply, or not."""
        self.refresh_applicable()

    def shown_names(self) -> list[str]:
        """The names of the inputs whose fields are on show (in order)."""
        return [s.name for s in self.specs
                if self._built and self.query_one(f"#field-{s.name}").display]

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
        self.refresh_applicable()

    def values(self) -> dict[str, Any] | None:
        """The fields' current values, typed by the input's kind (empty text and fields that do
        not apply are left out); None while the fields are still being built."""
        if not self._built:
            return None
        shown = set(self.shown_names())
        return {k: v for k, v in self._current_values().items() if k in shown}

    def _current_values(self) -> dict[str, Any]:
        """Every field's value, shown or not."""
        out: dict[str, Any] = {}
        if not self._built:
            return out
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
            for ancestor in self.query_one(f"#field-{name}").ancestors:
                if isinstance(ancestor, Collapsible):
                    ancestor.collapsed = False  # an advanced field with an error: show it
            self.query_one(f"#in-{name}").focus()
            break
