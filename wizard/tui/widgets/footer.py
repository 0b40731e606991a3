"""The footer: the keys a learner can press, drawn as one line of text by one widget.

Textual's own footer makes a widget for each key and rebuilds all of them a frame after each
change of the screen's bindings. At start-up that kept the keys off the first frame (Quit and Run
came one frame later, after a rebuild that cost about a tenth of the first paint's CPU), and at
70 columns it cut whatever did not fit from the right. This footer reads the screen's active
bindings (Textual's public ``Screen.active_bindings``) each time it is drawn: the keys are in the
first frame, a change of bindings is one repaint, and a narrow terminal drops keys from the right
but always keeps Quit. A click on a key presses it, as in Textual's footer.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.widget import Widget


class Key(NamedTuple):
    """One key as the footer draws it: where it starts and ends, and what it presses."""

    start: int
    end: int
    key: str
    enabled: bool


class Entry(NamedTuple):
    """A key the screen's bindings show."""

    key: str
    display: str  # how the key is written (``^p`` for ctrl+p)
    description: str
    enabled: bool
    action: str


class KeysFooter(Widget):
    """A footer showing the screen's keys (see the module's docstring)."""

    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .keys-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .keys-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .keys-footer--hover {
            background: $block-hover-background;
        }
        .keys-footer--separator {
            color: $foreground 20%;
        }
    }
    """

    COMPONENT_CLASSES = {"keys-footer--key", "keys-footer--description", "keys-footer--hover",
                         "keys-footer--separator"}

    #: the actions a narrow footer keeps however little room it has
    KEEP = frozenset({"quit_app", "quit"})

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """An empty footer; its keys are read from the screen each time it is drawn."""
        super().__init__(id=id, classes=classes)
        self.keys: list[Key] = []  # the keys drawn last, for clicks and the mouse pointer
        self.shown: list[str] = []  # ... and their descriptions, in order (tests and benches)
        self._hover: int | None = None

    def on_mount(self) -> None:
        """Repaint whenever the screen's bindings change (focus, a pushed screen...)."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        """Stop listening to the screen."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        """The bindings changed: draw again (changes in the same frame draw once)."""
        self.refresh()

    def _entries(self) -> tuple[list[Entry], Entry | None]:
        """The keys to show, one per action, and the command palette's key, drawn apart on the
        right, if the app has one."""
        app = self.app
        active = self.screen.active_bindings
        entries: list[Entry] = []
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and all(entry.action != binding.action for entry in entries):
                entries.append(Entry(binding.key, app.get_key_display(binding),
                                     binding.description, enabled, binding.action))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            binding = active[app.COMMAND_PALETTE_BINDING].binding
            palette = Entry(binding.key, app.get_key_display(binding), binding.description,
                            True, binding.action)
        return entries, palette

    @staticmethod
    def _label(entry: Entry) -> tuple[str, str]:
        """The two parts a key is drawn as: the key, padded, and its description."""
        return f" {entry.display} ", f"{entry.description} " if entry.description else ""

    @staticmethod
    def _palette_label(entry: Entry) -> tuple[str, str]:
        """The command palette's key as it is drawn, at the right edge (no padding)."""
        return entry.display, f" {entry.description}"

    def _width(self, entry: Entry) -> int:
        """The columns ``entry`` takes."""
        return sum(map(len, self._label(entry)))

    def _fit(self, entries: list[Entry], room: int) -> list[Entry]:
        """The entries that fit in ``room`` columns: from the left until one does not, leaving
        room for the keys that must stay (``KEEP``), which always stay."""
        kept_later = sum(self._width(e) for e in entries if e.action in self.KEEP)
        used, chosen, full = 0, [], False
        for entry in entries:
            width, must = self._width(entry), entry.action in self.KEEP
            if must:
                kept_later -= width
            full = full or used + width + kept_later > room
            if must or not full:
                chosen.append(entry)
                used += width
        return chosen

    def render(self) -> Text:
        """The keys, left to right, and the command palette's key at the right edge."""
        entries, palette = self._entries()
        width = self.size.width
        # the palette's key, after a "▏", at the right edge
        palette_width = 1 + sum(map(len, self._palette_label(palette))) if palette else 0
        chosen = self._fit(entries, width - palette_width)
        if palette and sum(map(self._width, chosen)) > width - palette_width:
            # no room for it beside the keys that must stay: they get the whole line
            palette, palette_width = None, 0
            chosen = self._fit(entries, width)
        line = Text(no_wrap=True, overflow="crop", end="")
        keys: list[Key] = []
        for entry in chosen:
            self._draw(line, entry, keys)
        if palette is not None:
            line.append(" " * max(0, width - len(line) - palette_width))
            line.append("▏", self.get_component_rich_style("keys-footer--separator"))
            self._draw(line, palette, keys, self._palette_label(palette))
        self.keys = keys
        self.shown = [entry.description for entry in chosen] + ([palette.description]
                                                                 if palette else [])
        return line

    def _draw(self, line: Text, entry: Entry, keys: list[Key],
              label: tuple[str, str] | None = None) -> None:
        """Append ``entry`` to ``line`` (as ``label`` if given) and note where it is."""
        start = len(line)
        key_style = self.get_component_rich_style("keys-footer--key")
        text_style = self.get_component_rich_style("keys-footer--description")
        if self._hover == len(keys):
            hover = self.get_component_rich_style("keys-footer--hover")
            key_style, text_style = key_style + hover, text_style + hover
        shown_key, shown_text = label or self._label(entry)
        line.append(shown_key, key_style)
        line.append(shown_text, text_style)
        if not entry.enabled:
            line.stylize("dim", start)
        keys.append(Key(start, len(line), entry.key, entry.enabled))

    def _key_at(self, x: int) -> int | None:
        """The index of the key drawn at column ``x``, if any."""
        for index, key in enumerate(self.keys):
            if key.start <= x < key.end:
                return index
        return None

    def on_click(self, event: events.Click) -> None:
        """Press the key that was clicked (a disabled one rings the bell)."""
        index = self._key_at(event.x)
        if index is None:
            return
        event.stop()
        if self.keys[index].enabled:
            self.app.simulate_key(self.keys[index].key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Highlight the key under the mouse pointer."""
        index = self._key_at(event.x)
        if index != self._hover:
            self._hover = index
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        """No key is under the pointer any more."""
        if self._hover is not None:
            self._hover = None
            self.refresh()
