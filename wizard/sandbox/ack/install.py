"""Install the derived CRDs into a Kubernetes API server (the sandbox's, or any other)."""

from __future__ import annotations

import time
from pathlib import Path

from wizard.sandbox.ack.crds import derive_crds


def install_crds(kubeconfig: Path, kinds: list[str] | tuple[str, ...] | None = None,
                 timeout: float = 30.0) -> list[str]:
    """Create or replace the CRDs for ``kinds`` (default: the lab's) and wait until each is
    Established; returns their names. Raises TimeoutError naming any CRD that never became
    Established, with what to check next."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = client.ApiextensionsV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    names = []
    for crd in derive_crds(kinds):
        name = crd["metadata"]["name"]
        try:
            api.create_custom_resource_definition(crd)
        except ApiException as exc:
            if exc.status != 409:
                raise
            current = api.read_custom_resource_definition(name)
            crd["metadata"]["resourceVersion"] = current.metadata.resource_version
            api.replace_custom_resource_definition(name, crd)
        names.append(name)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in sorted(pending):
            conds = api.read_custom_resource_definition(name).status
            conds = (conds.conditions if conds else None) or []
            if any(c.type == "Established" and c.status == "True" for c in conds):
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise TimeoutError(
                f"CRDs not Established after {timeout:.0f}s: {', '.join(sorted(pending))}; "
                "check the API server's log"
            )
        if pending:
            time.sleep(0.1)
    return names
