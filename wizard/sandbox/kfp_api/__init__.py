"""The sandbox's Kubeflow Pipelines v2beta1 API server; runs execute with ``kfp.local``.

``KfpApiServer`` is imported lazily so that importing this package stays cheap for the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KfpApiServer"]


def __getattr__(name: str) -> Any:
    """Load :class:`KfpApiServer` on first use."""
    if name == "KfpApiServer":
        from .server import KfpApiServer
        return KfpApiServer
    raise AttributeError(name)
