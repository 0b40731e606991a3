"""Write a kubeconfig that points kubectl and the python client at the sandbox's API server."""

from __future__ import annotations

import os
from pathlib import Path


def write_kubeconfig(path: Path, url: str, token: str, cluster_name: str = "kf-sm-workshop",
                     namespace: str = "default", user: str = "kubernetes-admin",
                     ca_data: str | None = None) -> Path:
    """Write (atomically, mode 0600) a one-context kubeconfig and return its path.

    The context is named ``<user>@<cluster_name>`` and selected; ``namespace`` is the context's
    default namespace; the user authenticates with the bearer ``token``.

    kubectl sends a kubeconfig's token only over TLS, so when ``url`` is the plain address of a
    :class:`KubeApiServer` (started in this process, or ``ca_data`` given) the kubeconfig names
    the same port over ``https`` and embeds the server's certificate as its CA.
    """
    import base64

    import yaml

    if not url.startswith(("http://", "https://")):
        raise ValueError(f"kubeconfig server URL must start with http:// or https://, got {url!r}")
    cluster: dict[str, str] = {"server": url}
    if ca_data is None and url.startswith("http://"):
        from .server import ca_for_url

        ca_data = ca_for_url(url)
    if ca_data:
        cluster = {"server": url.replace("http://", "https://", 1),
                   "certificate-authority-data": base64.b64encode(ca_data.encode()).decode()}
    context = f"{user}@{cluster_name}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": user,
                                                   "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    os.replace(tmp, path)
    return path
