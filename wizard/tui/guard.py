"""Guarding the app's own handlers, so an error in one reaches the central error handler.

Textual ends an object's message loop at the first exception one of its handlers raises; for the
app itself that would freeze the whole interface, and most of the wizard's logic lives in the
app's handlers. Rather than override Textual's private dispatch, every handler the app defines
(``on_*`` message handlers and ``action_*`` key actions) is wrapped here: an exception is passed
to the app's public ``report_unexpected`` and the handler returns normally.
"""

from __future__ import annotations

import asyncio
import functools
import inspect


def _wrap(method):
    """``method`` with its exceptions sent to ``self.report_unexpected``."""
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def guarded_async(self, *args, **kwargs):
            """The handler, reporting instead of raising."""
            try:
                return await method(self, *args, **kwargs)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the central handler decides
                self.report_unexpected(error)
        return guarded_async

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        """The handler, reporting instead of raising."""
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the central handler decides
            self.report_unexpected(error)
    return guarded


def guarded(method):
    """Decorator: guard one method that is not a handler by name (a callback another object
    calls, e.g. when the main screen is mounted) the way :func:`guard_handlers` guards handlers."""
    wrapped = _wrap(method)
    wrapped._labwiz_guarded = True
    return wrapped


def guard_handlers(cls):
    """Class decorator: wrap every ``on_*`` and ``action_*`` method ``cls`` or its own mixins
    define (Textual's base classes are left alone)."""
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("wizard."):
            continue
        for name, value in list(vars(klass).items()):
            if name.startswith(("on_", "action_")) and inspect.isfunction(value) \
                    and not getattr(value, "_labwiz_guarded", False):
                wrapped = _wrap(value)
                wrapped._labwiz_guarded = True
                setattr(cls, name, wrapped)
    return cls
