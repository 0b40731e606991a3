"""Pipelines, pipeline versions and experiments: the non-run half of the KFP API.

Each method takes the parsed request (path ids, query, JSON body) and returns the JSON the real
server would answer with, or raises :class:`~.errors.ApiError`. Objects are kept API-shaped in the
store; keys starting with ``_`` are internal and never leave the server.
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
import uuid
from typing import Any

from .errors import ApiError, invalid, not_found
from .listing import paginate
from .progress import now
from .specs import parse_package, spec_for_api, validate_spec
from .store import Store

DEFAULT_EXPERIMENT = "Default"


def public(record: dict) -> dict:
    """A stored record without its internal (``_``-prefixed) keys."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def field_getter(id_key: str) -> Any:
    """A ``field_of(item, key)`` for :func:`paginate` over records whose id is ``id_key``."""
    def field_of(item: dict, key: str) -> Any:
        """The value of ``key`` on ``item``; KeyError for a field it does not have."""
        if key in ("id", id_key):
            return item[id_key]
        if key == "name" and "name" not in item:
            return item.get("display_name", "")
        if key in item:
            value = item[key]
            return "" if value is None else value
        raise KeyError(key)
    return field_of


def _package_name(filename: str | None) -> str:
    """A pipeline name from an uploaded file's name, as the real server derives it."""
    base = os.path.basename(filename or "")
    for suffix in (".tar.gz", ".tgz", ".zip", ".yaml", ".yml", ".json"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


class Resources:
    """Pipelines, versions and experiments over a :class:`Store`."""

    def __init__(self, store: Store):
        """Work on ``store``."""
        self.store = store

    # pipelines ---------------------------------------------------------------------------------
    def _pipeline(self, pipeline_id: str) -> dict:
        """The stored pipeline or NotFound."""
        record = self.store.pipelines.get(pipeline_id)
        if record is None:
            raise not_found("Pipeline", pipeline_id)
        return record

    def _new_pipeline(self, name: str, display_name: str, description: str,
                      namespace: str) -> dict:
        """Create a pipeline record after the uniqueness check (caller holds the lock)."""
        name = (name or display_name or "").strip()
        if not name:
            raise invalid("pipeline's name cannot be empty; pass name (or display_name)")
        for other in self.store.snapshot("pipelines"):
            if other["name"] == name and other["namespace"] == namespace:
                raise ApiError("ALREADY_EXISTS",
                               f"Failed to create a new pipeline. The name {name} already exists "
                               f"in namespace '{namespace}'. Please specify a new name, or "
                               "upload a new version of the existing pipeline instead")
        record = {"pipeline_id": str(uuid.uuid4()), "name": name,
                  "display_name": display_name or name, "description": description or "",
                  "created_at": now(), "namespace": namespace or ""}
        self.store.pipelines[record["pipeline_id"]] = record
        return record

    def _new_version(self, pipeline: dict, name: str, display_name: str, description: str,
                     doc: dict, package_url: str | None = None) -> dict:
        """Create a version record and store its spec (caller holds the lock)."""
        name = (name or display_name or "").strip() or pipeline["name"]
        for other in self.store.snapshot("versions"):
            if other["pipeline_id"] == pipeline["pipeline_id"] and other["name"] == name:
                raise ApiError("ALREADY_EXISTS",
                               f"Failed to create a new pipeline version. The name {name} "
                               f"already exists in pipeline {pipeline['pipeline_id']}. "
                               "Please specify a new name")
        record = {"pipeline_id": pipeline["pipeline_id"],
                  "pipeline_version_id": str(uuid.uuid4()), "name": name,
                  "display_name": display_name or name, "description": description or "",
                  "created_at": now()}
        if package_url:
            record["package_url"] = {"pipeline_url": package_url}
        self.store.write_spec(record["pipeline_version_id"], doc)
        self.store.versions[record["pipeline_version_id"]] = record
        return record

    def version_view(self, record: dict) -> dict:
        """A version as the API returns it, with its pipeline spec."""
        view = public(record)
        doc = self.store.read_spec(record["pipeline_version_id"])
        if doc:
            view["pipeline_spec"] = spec_for_api(doc)
        return view

    def upload_pipeline(self, query: dict, filename: str | None, data: bytes) -> dict:
        """``POST /pipelines/upload``: a new pipeline and its first version from a package."""
        doc = parse_package(data)
        name = query.get("name") or query.get("display_name") or _package_name(filename)
        with self.store.lock:
            pipeline = self._new_pipeline(name, query.get("display_name") or name,
                                          query.get("description", ""),
                                          query.get("namespace", ""))
            try:
                self._new_version(pipeline, pipeline["name"], pipeline["display_name"],
                                  pipeline["description"], doc)
            except ApiError:
                del self.store.pipelines[pipeline["pipeline_id"]]
                raise
            self.store.save()
        return public(pipeline)

    def upload_version(self, query: dict, filename: str | None, data: bytes) -> dict:
        """``POST /pipelines/upload_version``: a new version of ``pipelineid``."""
        pipeline_id = query.get("pipelineid") or query.get("pipeline_id")
        if not pipeline_id:
            raise invalid("Failed to create a pipeline version: the pipelineid query parameter "
                          "is missing; pass the id of the pipeline this version belongs to")
        doc = parse_package(data)
        with self.store.lock:
            pipeline = self._pipeline(pipeline_id)
            name = query.get("name") or query.get("display_name") or _package_name(filename)
            record = self._new_version(pipeline, name, query.get("display_name") or name,
                                       query.get("description", ""), doc)
            self.store.save()
        return self.version_view(record)

    def create_pipeline(self, body: dict) -> dict:
        """``POST /pipelines``: a pipeline with no version yet."""
        with self.store.lock:
            record = self._new_pipeline(body.get("name", ""), body.get("display_name", ""),
                                        body.get("description", ""), body.get("namespace", ""))
            self.store.save()
        return public(record)

    def _doc_from_version_body(self, body: dict) -> tuple[dict, str | None]:
        """The spec document a JSON version body carries inline or by package URL."""
        if body.get("pipeline_spec"):
            return validate_spec(body["pipeline_spec"]), None
        url = ((body.get("package_url") or {}).get("pipeline_url") or "").strip()
        if not url:
            raise invalid("a pipeline version needs pipeline_spec or package_url.pipeline_url")
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "file") or (
                parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "localhost")):
            raise invalid(f"the sandbox fetches package URLs from file:// or http://127.0.0.1 "
                          f"only, not '{url}'; upload the file instead")
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - checked above
                data = resp.read()
        except OSError as exc:
            raise invalid(f"cannot fetch the package at {url}: {exc}") from None
        return parse_package(data), url

    def create_version(self, pipeline_id: str, body: dict) -> dict:
        """``POST /pipelines/{id}/versions``: a version from JSON."""
        doc, url = self._doc_from_version_body(body)
        with self.store.lock:
            pipeline = self._pipeline(pipeline_id)
            record = self._new_version(pipeline, body.get("name", ""),
                                       body.get("display_name", ""),
                                       body.get("description", ""), doc, url)
            self.store.save()
        return self.version_view(record)

    def create_pipeline_and_version(self, body: dict) -> dict:
        """``POST /pipelines/create``: both at once; answers with the pipeline."""
        pbody, vbody = body.get("pipeline") or {}, body.get("pipeline_version") or {}
        doc, url = self._doc_from_version_body(vbody)
        with self.store.lock:
            name = pbody.get("name") or pbody.get("display_name") or \
                doc["pipeline_spec"]["pipelineInfo"]["name"]
            pipeline = self._new_pipeline(name, pbody.get("display_name", ""),
                                          pbody.get("description", ""),
                                          pbody.get("namespace", ""))
            try:
                self._new_version(pipeline, vbody.get("name", ""), vbody.get("display_name", ""),
                                  vbody.get("description", ""), doc, url)
            except ApiError:
                del self.store.pipelines[pipeline["pipeline_id"]]
                raise
            self.store.save()
        return public(pipeline)

    def list_pipelines(self, query: dict) -> dict:
        """``GET /pipelines``: the pipelines of one namespace (shared ones when none is given)."""
        namespace = query.get("namespace", "")
        items = [p for p in self.store.snapshot("pipelines") if p["namespace"] == namespace]
        page, total, token = paginate(items, query, field_getter("pipeline_id"))
        result: dict[str, Any] = {"total_size": total}
        if page:
            result["pipelines"] = [public(p) for p in page]
        if token:
            result["next_page_token"] = token
        return result

    def get_pipeline(self, pipeline_id: str) -> dict:
        """``GET /pipelines/{id}``."""
        return public(self._pipeline(pipeline_id))

    def get_pipeline_by_name(self, name: str, query: dict) -> dict:
        """``GET /pipelines/names/{name}``."""
        namespace = query.get("namespace", "")
        for record in self.store.snapshot("pipelines"):
            if record["name"] == name and record["namespace"] == namespace:
                return public(record)
        raise ApiError("NOT_FOUND", f"Pipeline named '{name}' not found in namespace "
                       f"'{namespace}'; list pipelines to see the names in use")

    def delete_pipeline(self, pipeline_id: str, query: dict) -> dict:
        """``DELETE /pipelines/{id}``: refused while versions remain unless cascade=true."""
        cascade = str(query.get("cascade", "")).lower() == "true"
        with self.store.lock:
            self._pipeline(pipeline_id)
            versions = [v for v in self.store.snapshot("versions")
                        if v["pipeline_id"] == pipeline_id]
            if versions and not cascade:
                raise invalid(f"Failed to delete pipeline with id {pipeline_id} as it has existing "
                              f"pipeline versions (e.g. {versions[-1]['pipeline_version_id']}). "
                              "Delete the versions first, or set cascade=true to delete them all")
            for version in versions:
                del self.store.versions[version["pipeline_version_id"]]
                self.store.delete_spec(version["pipeline_version_id"])
            del self.store.pipelines[pipeline_id]
            self.store.save()
        return {}

    # versions --------------------------------------------------------------------------------
    def _version(self, pipeline_id: str, version_id: str) -> dict:
        """The stored version of ``pipeline_id`` or NotFound."""
        self._pipeline(pipeline_id)
        record = self.store.versions.get(version_id)
        if record is None or record["pipeline_id"] != pipeline_id:
            raise not_found("Pipeline version", version_id)
        return record

    def list_versions(self, pipeline_id: str, query: dict) -> dict:
        """``GET /pipelines/{id}/versions``."""
        self._pipeline(pipeline_id)
        items = [v for v in self.store.snapshot("versions") if v["pipeline_id"] == pipeline_id]
        page, total, token = paginate(items, query, field_getter("pipeline_version_id"))
        result: dict[str, Any] = {"total_size": total}
        if page:
            result["pipeline_versions"] = [self.version_view(v) for v in page]
        if token:
            result["next_page_token"] = token
        return result

    def get_version(self, pipeline_id: str, version_id: str) -> dict:
        """``GET /pipelines/{id}/versions/{vid}``."""
        return self.version_view(self._version(pipeline_id, version_id))

    def delete_version(self, pipeline_id: str, version_id: str) -> dict:
        """``DELETE /pipelines/{id}/versions/{vid}``."""
        with self.store.lock:
            self._version(pipeline_id, version_id)
            del self.store.versions[version_id]
            self.store.delete_spec(version_id)
            self.store.save()
        return {}

    def spec_of_reference(self, ref: dict) -> tuple[dict, dict]:
        """Resolve a run's pipeline_version_reference to ``(version record, spec document)``."""
        pipeline_id = ref.get("pipeline_id") or ""
        version_id = ref.get("pipeline_version_id") or ""
        if not version_id:
            if not pipeline_id:
                raise invalid("pipeline_version_reference needs pipeline_version_id")
            # like the real server: no version id means the pipeline's latest version
            versions = sorted((v for v in self.store.snapshot("versions")
                               if v["pipeline_id"] == pipeline_id),
                              key=lambda v: v["created_at"])
            if not versions:
                raise invalid(f"pipeline {pipeline_id} has no versions to run")
            version_id = versions[-1]["pipeline_version_id"]
        record = self.store.versions.get(version_id)
        if record is None or (pipeline_id and record["pipeline_id"] != pipeline_id):
            raise not_found("Pipeline version", version_id)
        doc = self.store.read_spec(version_id)
        if not doc:
            raise ApiError("INTERNAL", f"the spec of pipeline version {version_id} is missing "
                           "from the sandbox's data directory; upload the version again")
        return record, doc

    # experiments -----------------------------------------------------------------------------
    def _experiment(self, experiment_id: str) -> dict:
        """The stored experiment or NotFound."""
        record = self.store.experiments.get(experiment_id)
        if record is None:
            raise not_found("Experiment", experiment_id)
        return record

    def create_experiment(self, body: dict) -> dict:
        """``POST /experiments``."""
        name = (body.get("display_name") or body.get("name") or "").strip()
        if not name:
            raise invalid("Experiment name cannot be empty; set display_name")
        namespace = body.get("namespace") or ""
        with self.store.lock:
            for other in self.store.snapshot("experiments"):
                if other["display_name"] == name and other["namespace"] == namespace:
                    raise ApiError("ALREADY_EXISTS",
                                   f"Failed to create a new experiment. The name {name} already "
                                   f"exists in namespace '{namespace}'. Please specify a new name")
            record = {"experiment_id": str(uuid.uuid4()), "display_name": name,
                      "description": body.get("description") or "", "created_at": now(),
                      "namespace": namespace, "storage_state": "AVAILABLE",
                      "last_run_created_at": None}
            self.store.experiments[record["experiment_id"]] = record
            self.store.save()
        return public(record)

    def default_experiment(self, namespace: str) -> dict:
        """The "Default" experiment of ``namespace``, created on first use (lock held)."""
        same_ns = [e for e in self.store.snapshot("experiments") if e["namespace"] == namespace]
        for record in sorted(same_ns, key=lambda e: not e.get("_default")):
            if record.get("_default") or record["display_name"] == DEFAULT_EXPERIMENT:
                return record
        record = {"experiment_id": str(uuid.uuid4()), "display_name": DEFAULT_EXPERIMENT,
                  "description": "All runs created without specifying an experiment will be "
                  "grouped here.", "created_at": now(), "namespace": namespace,
                  "storage_state": "AVAILABLE", "last_run_created_at": None, "_default": True}
        self.store.experiments[record["experiment_id"]] = record
        return record

    def get_experiment(self, experiment_id: str) -> dict:
        """``GET /experiments/{id}``."""
        return public(self._experiment(experiment_id))

    def list_experiments(self, query: dict) -> dict:
        """``GET /experiments``, optionally of one namespace."""
        namespace = query.get("namespace")
        items = [e for e in self.store.snapshot("experiments")
                 if namespace is None or e["namespace"] == namespace]
        page, total, token = paginate(items, query, field_getter("experiment_id"))
        result: dict[str, Any] = {"total_size": total}
        if page:
            result["experiments"] = [public(e) for e in page]
        if token:
            result["next_page_token"] = token
        return result

    def set_experiment_storage(self, experiment_id: str, state: str) -> list[str]:
        """Archive or unarchive an experiment; returns the ids of its runs (lock held)."""
        record = self._experiment(experiment_id)
        record["storage_state"] = state
        return [r["run_id"] for r in self.store.snapshot("runs")
                if r["experiment_id"] == experiment_id]

    def delete_experiment_record(self, experiment_id: str) -> None:
        """Remove an experiment (lock held); the default one cannot be deleted."""
        record = self._experiment(experiment_id)
        if record.get("_default"):
            raise invalid(f"Failed to delete experiment {experiment_id}. The default experiment "
                          "cannot be deleted")
        del self.store.experiments[experiment_id]
