"""Packages whose names are imported from their modules on first use (PEP 562).

The TUI's ``widgets`` and ``dialogs`` packages re-export classes that live in their own modules;
the first frame needs few of them, and importing the rest (RichLog, Select, Input, ProgressBar
and what they bring) is start-up time it need not wait for.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy_exports(package: str, modules: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` comes from
    ``package.<modules[name]>`` when first asked for; other names are an AttributeError."""

    def __getattr__(name: str) -> Any:
        """``name``, imported from its module on first use."""
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{modules[name]}"), name)

    return __getattr__
