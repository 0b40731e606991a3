"""The sandbox's Kubernetes API server: the EKS cluster of the lab, on loopback.

Public interface (see docs/sandbox-kube.md):

* :class:`KubeApiServer` (``wizard.sandbox.kube.server``): ``KubeApiServer(data_dir, host,
  port, faults)``, ``.start()``, ``.url``, ``.healthy()``, ``.stop()``, ``.admin_token``.
* :func:`write_kubeconfig` (``wizard.sandbox.kube.kubeconfig``).
* :func:`seed_kubeflow_cluster` (``wizard.sandbox.kube.seed``).

Names are resolved lazily so importing this package stays cheap for the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KubeApiServer", "KubeServerError", "write_kubeconfig", "seed_kubeflow_cluster",
           "load_crds"]

_WHERE = {"KubeApiServer": "server", "KubeServerError": "server",
          "write_kubeconfig": "kubeconfig", "seed_kubeflow_cluster": "seed", "load_crds": "seed"}


def __getattr__(name: str) -> Any:
    """Import the public names on first use."""
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
