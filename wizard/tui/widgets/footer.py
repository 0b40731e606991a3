"""The footer: Textual's, rebuilding its keys once per frame however often they change.

Textual's footer rebuilds every key (a widget each) after the next refresh each time the screen
says its bindings changed, and one change arrives for each focus move, stack change and
reactive that affects bindings: at start-up three in a row, so the keys were built three times
before the first frame that shows them (about a tenth of a second of CPU). Here a rebuild
already waiting takes the later changes with it, since it reads the bindings when it runs.
"""

from __future__ import annotations

from textual.widgets import Footer


class KeysFooter(Footer):
    """A footer whose key rebuilds are coalesced (see the module's docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        """As Textual's footer."""
        super().__init__(*args, **kwargs)
        self._rebuild_waiting = False

    def bindings_changed(self, screen) -> None:
        """The screen's bindings changed: rebuild the keys, unless a rebuild is already waiting
        (it will read the new bindings)."""
        if self._rebuild_waiting:
            return
        will_rebuild = screen.app.app_focus and self.is_attached and screen is self.screen
        super().bindings_changed(screen)
        self._rebuild_waiting = bool(will_rebuild)

    async def recompose(self) -> None:
        """Rebuild the keys from the bindings as they are now."""
        self._rebuild_waiting = False
        await super().recompose()
