"""The write path and reads of the API server: create, update, patch, delete, get, list.

Every change goes through :meth:`Crud._commit`, which applies what the real API server applies
in order: status-subresource rules, structural pruning/defaulting/validation for custom
resources, the kind's own defaults and checks, generation bumps, a fresh resourceVersion, and
finalizer-aware removal. Side effects follow: namespaces get a ``default`` service account,
CRD changes refresh discovery, deletions cascade to owned objects, namespace contents and CRD
instances.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from . import errors, kinds, patch as patches, schema as schemas
from .errors import ApiError
from .registry import CRD_KEY
from .resources import STATUS_RESET_ON_MAIN, ResourceType
from .selectors import parse_field_selector, parse_label_selector

NS_KEY = ("", "namespaces")
SA_KEY = ("", "serviceaccounts")


def now_iso() -> str:
    """The current time as Kubernetes writes timestamps (RFC 3339, seconds, UTC)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strip(obj: dict[str, Any], status: bool) -> dict[str, Any]:
    """The object without metadata (and status when it is a subresource), for generation."""
    return {k: v for k, v in obj.items()
            if k not in ("metadata", "apiVersion", "kind") and not (status and k == "status")}


class Crud:
    """Object operations over the store, the registry and the token authority."""

    def __init__(self, store, registry, tokens):
        """Set up the instance (see the class docstring)."""
        self.store = store
        self.registry = registry
        self.tokens = tokens
        #: per-thread warnings of the current request (unknown fields under fieldValidation=Warn)
        self.local = threading.local()

    def take_warnings(self) -> list[str]:
        """The warnings the current thread's last write produced (cleared on read)."""
        out = getattr(self.local, "warnings", [])
        self.local.warnings = []
        return out

    # -- presentation -----------------------------------------------------------------------
    def present(self, t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """A stored object as the type's endpoint shows it (version, kind, event shape)."""
        if t.group == "events.k8s.io":
            return kinds.v1_event_from_core(obj)
        if obj.get("apiVersion") == t.api_version and obj.get("kind") == t.kind:
            return obj
        return dict(obj, apiVersion=t.api_version, kind=t.kind)

    def status_on_main_ignored(self, t: ResourceType) -> bool:
        """Whether the main endpoint keeps the old status (a status subresource exists)."""
        return "status" in t.subresources and (t.crd is not None or t.store_key in
                                               STATUS_RESET_ON_MAIN)

    # -- reads ------------------------------------------------------------------------------
    def get(self, t: ResourceType, ns: str, name: str) -> dict[str, Any]:
        """One object, or 404."""
        obj = self.store.get(t.store_key, ns if t.namespaced else "", name)
        if obj is None:
            raise errors.not_found(t.plural, t.group, name)
        return self.present(t, obj)

    def select(self, t: ResourceType, ns: str | None, query: dict[str, str]):
        """The predicate a list or watch filters with (labels and fields)."""
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"))
        return lambda obj: labels(obj) and fields(obj)

    def list(self, t: ResourceType, ns: str | None, query: dict[str, str]) -> dict[str, Any]:
        """A List document of the matching objects, stamped with the store's resourceVersion."""
        match = self.select(t, ns, query)
        with self.store.lock:
            rv = self.store.rv
            items = [self.present(t, o) for o in
                     self.store.list(t.store_key, ns if t.namespaced else None)]
        items = [o for o in items if match(o)]
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        try:
            limit = int(query.get("limit") or 0)
            start = int(query.get("continue") or 0)
        except ValueError:
            raise errors.bad_request("limit and continue must be numbers (continue is the token "
                                     "a previous page returned)") from None
        total = len(items)
        items = items[start:start + limit] if limit else items[start:]
        if limit and start + limit < total:
            meta["continue"] = str(start + limit)
            meta["remainingItemCount"] = total - start - limit
        keep_type = bool(t.crd)
        return {"kind": f"{t.kind}List", "apiVersion": t.api_version, "metadata": meta,
                "items": [o if keep_type else {k: v for k, v in o.items()
                                               if k not in ("apiVersion", "kind")}
                          for o in items]}

    # -- create -----------------------------------------------------------------------------
    def _check_body(self, t: ResourceType, body: Any, ns: str) -> dict[str, Any]:
        """Reject bodies that are not objects of this kind in this namespace."""
        if not isinstance(body, dict):
            raise errors.bad_request(f"the body of the request was not a {t.kind} object: expected "
                                     "a JSON/YAML mapping")
        if t.group == "events.k8s.io":
            body = kinds.core_event_from_v1(body)
            want_version, want_kind = "v1", "Event"
        else:
            want_version, want_kind = t.api_version, t.kind
        if body.get("kind") not in (None, want_kind):
            raise errors.bad_request(f"the kind in the body ({body.get('kind')}) does not match the "
                                     f"kind of the endpoint ({want_kind})")
        if body.get("apiVersion") not in (None, want_version):
            group = want_version.rpartition("/")[0]
            if (body["apiVersion"].rpartition("/")[0] != group) or not t.crd:
                raise errors.bad_request(f"the API version in the data ({body['apiVersion']}) does "
                                         f"not match the expected API version ({want_version})")
        meta = body.get("metadata")
        if meta is None:
            body["metadata"] = meta = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be a mapping")
        if t.namespaced:
            if meta.get("namespace") not in (None, "", ns):
                raise errors.bad_request("the namespace of the provided object does not match the "
                                         "namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        body["apiVersion"], body["kind"] = want_version, want_kind
        return body

    def create(self, t: ResourceType, ns: str, body: Any, query: dict[str, str]) -> dict:
        """POST: a new object (201), or 409 when the name is taken."""
        body = self._check_body(t, copy.deepcopy(body), ns)
        meta = body["metadata"]
        if not meta.get("name"):
            if meta.get("generateName"):
                suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits)
                                 for _ in range(5))
                meta["name"] = meta["generateName"] + suffix
            else:
                raise errors.invalid(t.kind, t.group, "", [
                    {"reason": "FieldValueRequired", "field": "metadata.name",
                     "message": "Required value: name or generateName is required"}])
        if t.namespaced:
            self._check_namespace(ns)
        with self.store.lock:
            if self.store.get(t.store_key, ns if t.namespaced else "", meta["name"]) is not None:
                raise errors.already_exists(t.plural, t.group, meta["name"])
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "managedFields", "selfLink"):
                meta.pop(k, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            meta["generation"] = 1
            if self.status_on_main_ignored(t) and t.crd:
                body.pop("status", None)
            obj = self._commit(t, body, None, "ADDED", query)
        return self.present(t, obj)

    def _check_namespace(self, ns: str) -> None:
        """A namespaced create needs its namespace to exist and not be terminating."""
        nso = self.store.get(NS_KEY, "", ns)
        if nso is None:
            raise errors.not_found("namespaces", "", ns)
        if nso["metadata"].get("deletionTimestamp"):
            raise ApiError(403, f"unable to create new content in namespace {ns} because it is "
                                "being terminated", "Forbidden",
                           details={"name": ns, "kind": "namespaces"})

    # -- update and patch -------------------------------------------------------------------
    def update(self, t: ResourceType, ns: str, name: str, body: Any, query: dict[str, str],
               sub: str = "") -> dict[str, Any]:
        """PUT: replace an object (or its status), checking resourceVersion if given."""
        body = self._check_body(t, copy.deepcopy(body), ns)
        if body["metadata"].get("name") not in (None, name):
            raise errors.bad_request(f"the name of the object ({body['metadata']['name']}) does "
                                     f"not match the name on the URL ({name})")
        body["metadata"]["name"] = name
        with self.store.lock:
            old = self.store.get(t.store_key, ns if t.namespaced else "", name)
            if old is None:
                raise errors.not_found(t.plural, t.group, name)
            return self.present(t, self._replace(t, old, body, query, sub))

    def _replace(self, t: ResourceType, old: dict, new: dict, query: dict[str, str],
                 sub: str) -> dict[str, Any]:
        """Turn ``new`` into the next version of ``old`` and commit it (lock held)."""
        meta, old_meta = new["metadata"], old["metadata"]
        want_rv = meta.get("resourceVersion")
        if want_rv and want_rv != old_meta.get("resourceVersion"):
            raise errors.conflict(t.plural, t.group, old_meta["name"],
                                  "the object has been modified; please apply your changes to "
                                  "the latest version and try again")
        if sub == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        else:
            for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                      "deletionGracePeriodSeconds"):
                if k in old_meta:
                    meta[k] = old_meta[k]
                else:
                    meta.pop(k, None)
            meta.pop("managedFields", None)
            if self.status_on_main_ignored(t):
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                raise errors.invalid(t.kind, t.group, old_meta["name"], [
                    {"reason": "FieldValueForbidden", "field": "metadata.finalizers",
                     "message": f"Forbidden: no new finalizers can be added if the object is "
                                f"being deleted, found new finalizers {sorted(added)!r}"}])
        status_sub = "status" in t.subresources
        if _strip(new, status_sub) != _strip(old, status_sub):
            meta = new["metadata"]
            meta["generation"] = int(old_meta.get("generation") or 1) + 1
        return self._commit(t, new, old, "MODIFIED", query)

    def patch(self, t: ResourceType, ns: str, name: str, body: bytes, content_type: str,
              query: dict[str, str], sub: str = "", parse=None) -> dict[str, Any]:
        """PATCH with JSON merge, JSON patch, strategic merge or apply (create when absent)."""
        kind = content_type.split(";")[0].strip().lower()
        with self.store.lock:
            old = self.store.get(t.store_key, ns if t.namespaced else "", name)
            if kind == "application/apply-patch+yaml":
                doc = parse(body)
                if old is None:
                    return self.create(t, ns, doc, query)
                new = patches.merge_patch(self.present(t, old), doc)
            else:
                if old is None:
                    raise errors.not_found(t.plural, t.group, name)
                doc = _parse_json(body)
                current = self.present(t, old)
                if kind == "application/merge-patch+json":
                    new = patches.merge_patch(current, doc)
                elif kind == "application/json-patch+json":
                    new = patches.json_patch(current, doc)
                elif kind == "application/strategic-merge-patch+json":
                    if t.crd:
                        raise ApiError(415, "strategic merge patch is not supported for custom "
                                            "resources; use a JSON merge patch "
                                            "(--type=merge)", "UnsupportedMediaType")
                    new = patches.strategic_merge(current, doc)
                else:
                    raise ApiError(415, "the body of the request was in an unknown format - "
                                        "accepted media types include: application/json-patch"
                                        "+json, application/merge-patch+json, application/apply"
                                        "-patch+yaml", "UnsupportedMediaType")
            if not isinstance(new, dict):
                raise errors.bad_request("the patch did not produce an object")
            new = self._check_body(t, new, ns)
            if new["metadata"].get("name") != name:
                raise errors.bad_request("the patch changed metadata.name, which is immutable")
            if isinstance(doc, dict) and not (doc.get("metadata") or {}).get("resourceVersion"):
                new["metadata"].pop("resourceVersion", None)
            return self.present(t, self._replace(t, old, new, query, sub))

    # -- the commit -------------------------------------------------------------------------
    def _commit(self, t: ResourceType, obj: dict, old: dict | None, event: str,
                query: dict[str, str]) -> dict[str, Any]:
        """Validate, default, version and store an object (lock held); returns what was stored."""
        name = obj["metadata"]["name"]
        causes = kinds.check_name(t, name) if old is None else []
        causes += kinds.check_metadata(obj["metadata"])
        if t.crd:
            sch = self.registry.schema(t)
            if sch:
                unknown = schemas.unknown_fields(obj, sch)
                mode = query.get("fieldValidation", "Warn")
                if unknown and mode == "Strict":
                    listed = ", ".join(f'unknown field "{f}"' for f in unknown)
                    raise errors.bad_request(
                        f'{t.kind} in version "{t.version}" cannot be handled as a {t.kind}: '
                        f"strict decoding error: {listed}")
                if unknown and mode == "Warn":
                    self.local.warnings = [f'unknown field "{f}"' for f in unknown]
                obj = schemas.prune(obj, sch, root=True)
                obj = schemas.apply_defaults(obj, sch)
                causes += schemas.validate(obj, sch)
            obj["apiVersion"] = f"{t.group}/{self.registry.storage_version(t)}"
        causes += kinds.prepare(t, obj, old)
        if causes:
            raise errors.invalid(t.kind, t.group, name, causes)
        if query.get("dryRun") == "All":
            obj["metadata"].setdefault("resourceVersion", (old or {}).get(
                "metadata", {}).get("resourceVersion", ""))
            return obj
        if old is not None and event == "MODIFIED" and _unchanged(obj, old):
            # as the real API server does: an update that changes nothing (once pruned and
            # defaulted) keeps the resourceVersion and sends no watch event; a controller
            # that writes what the server prunes away would otherwise wake itself for ever
            return old
        obj["metadata"]["resourceVersion"] = self.store.next_rv()
        stored = self.store.put(t.store_key, obj, event)
        if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
            self._remove(t.store_key, stored)
        self._after_write(t, stored, old)
        return stored

    def _after_write(self, t: ResourceType, obj: dict, old: dict | None) -> None:
        """Side effects: default service accounts, CRD refresh, token secrets."""
        if t.store_key == NS_KEY and old is None:
            ns = obj["metadata"]["name"]
            if self.store.get(SA_KEY, ns, "default") is None:
                self.system_create(SA_KEY, {"apiVersion": "v1", "kind": "ServiceAccount",
                                            "metadata": {"name": "default", "namespace": ns}})
        elif t.store_key == CRD_KEY:
            self.registry.refresh()
        elif t.store_key == ("", "secrets") and old is None and \
                obj.get("type") == "kubernetes.io/service-account-token":
            self._fill_token_secret(obj)

    def _fill_token_secret(self, secret: dict) -> None:
        """Give a legacy service-account token secret its token, as the token controller does."""
        import base64

        meta = secret["metadata"]
        sa_name = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name")
        sa = self.store.get(SA_KEY, meta["namespace"], sa_name or "")
        if sa is None:
            return
        token, _ = self.tokens.issue(meta["namespace"], sa_name, sa["metadata"]["uid"], None)
        new = copy.deepcopy(secret)
        new.setdefault("data", {}).update({
            "token": base64.b64encode(token.encode()).decode(),
            "namespace": base64.b64encode(meta["namespace"].encode()).decode()})
        new["metadata"].setdefault("annotations", {})["kubernetes.io/service-account.uid"] = \
            sa["metadata"]["uid"]
        new["metadata"]["resourceVersion"] = self.store.next_rv()
        self.store.put(("", "secrets"), new, "MODIFIED")

    def system_create(self, skey: tuple[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """Create a built-in object on the server's own behalf (no auth, idempotent)."""
        t = next(t for t in self.registry.all() if t.store_key == skey and t.group == skey[0])
        ns = body["metadata"].get("namespace", "")
        existing = self.store.get(skey, ns, body["metadata"]["name"])
        if existing is not None:
            return existing
        return self.create(t, ns, body, {})

    # -- delete -----------------------------------------------------------------------------
    def delete(self, t: ResourceType, ns: str, name: str, options: dict[str, Any] | None,
               query: dict[str, str]) -> dict[str, Any]:
        """DELETE: mark for deletion when finalizers remain, else remove (and cascade)."""
        options = options or {}
        with self.store.lock:
            old = self.store.get(t.store_key, ns if t.namespaced else "", name)
            if old is None:
                raise errors.not_found(t.plural, t.group, name)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
                raise errors.conflict(t.plural, t.group, name, f"Precondition failed: UID in "
                                      f"precondition: {pre['uid']}, UID in object meta: "
                                      f"{old['metadata'].get('uid')}")
            if pre.get("resourceVersion") and \
                    pre["resourceVersion"] != old["metadata"].get("resourceVersion"):
                raise errors.conflict(t.plural, t.group, name, "Precondition failed: "
                                      "resourceVersion does not match")
            if query.get("dryRun") == "All" or options.get("dryRun") == ["All"]:
                return self.present(t, old)
            return self.present(t, self.delete_object(t.store_key, old))

    def delete_object(self, skey: tuple[str, str], old: dict[str, Any]) -> dict[str, Any]:
        """Delete a stored object honouring finalizers; namespaces drain first (lock held)."""
        meta = old["metadata"]
        if skey == NS_KEY:
            return self._delete_namespace(old)
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return old
            new = copy.deepcopy(old)
            new["metadata"].update(deletionTimestamp=now_iso(), deletionGracePeriodSeconds=0,
                                   resourceVersion=self.store.next_rv())
            # as the real server marks an object deleting: its generation goes up, which is
            # what controllers filtering on generation changes (ACK's runtime) react to
            if int(new["metadata"].get("generation") or 0) > 0:
                new["metadata"]["generation"] = int(new["metadata"]["generation"]) + 1
            return self.store.put(skey, new, "MODIFIED")
        return self._remove(skey, old)

    def _remove(self, skey: tuple[str, str], obj: dict[str, Any]) -> dict[str, Any]:
        """Remove from the store and cascade (owned objects, CRD instances, empty namespaces)."""
        gone = self.store.remove(skey, obj)
        uid = obj["metadata"].get("uid")
        if skey == CRD_KEY:
            group, plural = obj["spec"]["group"], obj["spec"]["names"]["plural"]
            for inst in self.store.list((group, plural)):
                self.store.remove((group, plural), inst)
            self.registry.refresh()
        for okey, other in self.store.all_objects():
            refs = other["metadata"].get("ownerReferences") or []
            if uid and any(r.get("uid") == uid for r in refs) and \
                    self.store.get(okey, other["metadata"].get("namespace", ""),
                                   other["metadata"]["name"]) is other:
                self.delete_object(okey, other)
        ns = obj["metadata"].get("namespace")
        if ns:
            self._reap_namespace(ns)
        return gone

    def _delete_namespace(self, nso: dict[str, Any]) -> dict[str, Any]:
        """Mark a namespace Terminating, delete its contents, remove it once empty."""
        name = nso["metadata"]["name"]
        if not nso["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(nso)
            new["metadata"].update(deletionTimestamp=now_iso(), deletionGracePeriodSeconds=0,
                                   resourceVersion=self.store.next_rv())
            new["status"] = dict(new.get("status") or {}, phase="Terminating")
            nso = self.store.put(NS_KEY, new, "MODIFIED")
        for skey, obj in self.store.all_objects():
            if obj["metadata"].get("namespace") == name and skey != NS_KEY:
                current = self.store.get(skey, name, obj["metadata"]["name"])
                if current is not None:
                    self.delete_object(skey, current)
        return self._reap_namespace(name) or nso

    def _reap_namespace(self, name: str) -> dict[str, Any] | None:
        """Remove a terminating namespace once nothing is left in it."""
        nso = self.store.get(NS_KEY, "", name)
        if nso is None or not nso["metadata"].get("deletionTimestamp"):
            return None
        if any(o["metadata"].get("namespace") == name for k, o in self.store.all_objects()
               if k != NS_KEY):
            return None
        return self.store.remove(NS_KEY, nso)

    def delete_collection(self, t: ResourceType, ns: str | None, query: dict[str, str],
                          options: dict[str, Any] | None) -> dict[str, Any]:
        """DELETE on a collection: delete every match; answers the list of what was deleted."""
        match = self.select(t, ns, query)
        deleted = []
        with self.store.lock:
            for obj in self.store.list(t.store_key, ns if t.namespaced else None):
                if match(self.present(t, obj)):
                    if query.get("dryRun") != "All":
                        self.delete_object(t.store_key, obj)
                    deleted.append(self.present(t, obj))
        return {"kind": f"{t.kind}List", "apiVersion": t.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)}, "items": deleted}


def _parse_json(body: bytes) -> Any:
    """A patch body as JSON, or 400 naming the problem."""
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from None


def _unchanged(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether ``new`` is ``old`` but for the resourceVersion the writer sent (or left out)."""
    if {k: v for k, v in new.items() if k != "metadata"} != \
            {k: v for k, v in old.items() if k != "metadata"}:
        return False
    strip = ("resourceVersion",)
    return {k: v for k, v in new["metadata"].items() if k not in strip} == \
        {k: v for k, v in old["metadata"].items() if k not in strip}
