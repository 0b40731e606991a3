"""Support bundles: ``labwiz bundle`` writes one, ``labwiz inspect`` opens one read-only.

Public interface (imports are lazy so the CLI starts fast):

* :func:`write_bundle(state_dir, target=None, out=None, *, redact=True, run_doctor=True,
  progress=None) -> BundleResult` (``.path``, ``.files``, ``.redactions``, ``.notes``, ``.doctor``)
* :func:`read_bundle(path) -> BundleView` (``.state``, ``.events``, ``.doctor``, ``.versions``,
  ``.redactions``, ``.manifest``, ``.files()``, ``.text(name)``); raises ``NotABundle``.
* :func:`print_summary(view)` - the plain summary ``labwiz inspect`` prints.
"""

from __future__ import annotations

from typing import Any

_WHERE = {"write_bundle": "archive", "BundleResult": "archive", "read_bundle": "view",
          "BundleView": "view", "NotABundle": "view", "print_summary": "view",
          "Redactor": "redact"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import the public names on first use."""
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
