"""Upload a pipeline package to KFP without duplicates, and create or reuse the experiment.

A version is identified by the SHA-256 of its pipeline YAML, kept in the version's name
(``<pipeline>-<first 12 hex>``) and description (``sha256:<hex>``): the same content is never
uploaded twice, changed content becomes a new version of the same pipeline.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from wizard.kfp_ops.connect import translate
from wizard.protocol import Resource

#: the description of the experiment the lab creates (reconciliation tells it from others by it)
EXPERIMENT_DESCRIPTION = "MNIST k-means lab runs (labwiz)"


@dataclass
class Published:
    """Where the package lives in KFP, and whether anything new was made."""

    pipeline_id: str
    version_id: str
    created_pipeline: bool
    created_version: bool


def version_name(name: str, sha: str) -> str:
    """The name of the version a package of this content gets."""
    return f"{name}-{sha[:12]}"


def _marker(sha: str) -> str:
    """The text a version's description carries for its content hash."""
    return f"sha256:{sha}"


def find_pipeline_id(client, name: str) -> str | None:
    """The id of the pipeline called ``name``, or None."""
    try:
        return client.get_pipeline_id(name)
    except Exception as exc:  # noqa: BLE001
        raise translate(exc, f"looking up pipeline {name}") from None


def find_version(client, pipeline_id: str, sha: str) -> str | None:
    """The id of the pipeline's version carrying ``sha``, or None."""
    token = ""
    while True:
        try:
            page = client.list_pipeline_versions(pipeline_id, page_size=100, page_token=token)
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, "listing pipeline versions") from None
        for version in page.pipeline_versions or []:
            if _marker(sha) in (version.description or "") or \
                    (version.display_name or "").endswith(sha[:12]):
                return version.pipeline_version_id
        token = page.next_page_token
        if not token:
            return None


def publish(client, package_path: str, name: str, sha: str, description: str,
            intent=None) -> Published:
    """Upload ``package_path`` as pipeline ``name`` or as a new version of it, unless present.

    ``intent(kind, name, details)`` (the ledger's, see :meth:`wizard.ledger.Ledger.intent`)
    wraps each create, so the lab records what it is about to make before it makes it."""
    intent = intent or (lambda *_a: contextlib.nullcontext(Resource("", "")))
    pipeline_id = find_pipeline_id(client, name)
    text = f"{description} ({_marker(sha)})"
    if pipeline_id is None:
        try:
            with intent("kfp-pipeline", name, {"sha256": sha}) as made:
                pipeline = client.upload_pipeline(package_path, pipeline_name=name,
                                                  description=text)
                made.details["pipeline_id"] = pipeline.pipeline_id
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, f"uploading pipeline {name}") from None
        version_id = find_version(client, pipeline.pipeline_id, sha)
        if version_id is None:  # a server that does not copy the description: first version
            versions = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions
            version_id = versions[0].pipeline_version_id
        return Published(pipeline.pipeline_id, version_id, True, True)
    version_id = find_version(client, pipeline_id, sha)
    if version_id:
        return Published(pipeline_id, version_id, False, False)
    try:
        with intent("kfp-pipeline-version", version_name(name, sha),
                    {"pipeline_id": pipeline_id, "sha256": sha}) as made:
            version = client.upload_pipeline_version(
                package_path, pipeline_version_name=version_name(name, sha),
                pipeline_id=pipeline_id, description=text)
            made.name = version.pipeline_version_id
            made.details["display_name"] = version_name(name, sha)
    except Exception as exc:  # noqa: BLE001
        raise translate(exc, f"uploading a new version of {name}") from None
    return Published(pipeline_id, version.pipeline_version_id, False, True)


def ensure_experiment(client, name: str, namespace: str | None, intent=None) -> tuple[str, bool]:
    """The id of experiment ``name`` (created when absent, under ``intent`` as in
    :func:`publish`) and whether it was created."""
    intent = intent or (lambda *_a: contextlib.nullcontext(Resource("", "")))
    try:
        existing = client.get_experiment(experiment_name=name, namespace=namespace)
        return existing.experiment_id, False
    except ValueError:
        pass  # the SDK's "no experiment with that name"
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "status", None) not in (404,):
            raise translate(exc, f"looking up experiment {name}") from None
    try:
        with intent("kfp-experiment", name, {"namespace": namespace}) as row:
            made = client.create_experiment(name, namespace=namespace,
                                            description=EXPERIMENT_DESCRIPTION)
            row.details["experiment_id"] = made.experiment_id
    except Exception as exc:  # noqa: BLE001
        raise translate(exc, f"creating experiment {name}") from None
    return made.experiment_id, True
