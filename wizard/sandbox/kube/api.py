"""Request handling of the sandbox's API server, independent of the HTTP plumbing.

:class:`KubeApi.handle` takes a parsed :class:`Request` and returns a :class:`Response` (or a
streaming one for watches). It authenticates the bearer token, applies impersonation, asks the
RBAC authoriser, routes discovery/OpenAPI/health paths and resource paths
(``/api/v1/...``, ``/apis/<g>/<v>/...``, namespaced or not, with subresources), and turns every
error into the ``Status`` the real server would send.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from . import discovery, errors, reviews, tables
from .auth import Attributes, Authorizer, UserInfo, service_account_user
from .errors import ApiError
from .resources import ResourceType
from .watch import watch_events

HEALTH = ("/healthz", "/livez", "/readyz")
IMPERSONATE_GROUP = "Impersonate-Group"


@dataclass
class Request:
    """One HTTP request as the API layer sees it (headers keyed in lower case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, list[str]]
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        """The first value of a header."""
        values = self.headers.get(name.lower())
        return values[0] if values else default


@dataclass
class Response:
    """What to send back: a code, a JSON-able body (or text), headers, or a stream."""

    code: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None
    content_type: str = "application/json"


@dataclass
class Route:
    """A resource request, parsed from the path."""

    t: ResourceType
    namespace: str
    name: str
    sub: str


class KubeApi:
    """Routes and answers API requests over a store, registry, CRUD layer and authoriser."""

    def __init__(self, store, registry, crud, tokens, faults=None, host: str = ""):
        """Set up the instance (see the class docstring)."""
        self.store = store
        self.registry = registry
        self.crud = crud
        self.tokens = tokens
        self.authz = Authorizer(store)
        self.faults = faults
        self.host = host
        self.stopping = False

    # -- entry ------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        """Answer one request; never raises."""
        try:
            self.crud.take_warnings()
            path = "/" + req.path.strip("/") if req.path != "/" else "/"
            if path in HEALTH or path.startswith(tuple(h + "/" for h in HEALTH)):
                return Response(200, "ok", content_type="text/plain; charset=utf-8")
            if self.stopping:  # a kept-alive connection outliving stop() must not write
                raise ApiError(503, "the API server is shutting down; retry once it is back",
                               "ServiceUnavailable", headers={"Retry-After": "1"})
            if self.faults is not None and self.faults.transient("kube-5xx"):
                raise ApiError(503, "the server is currently unable to handle the request "
                                    "(injected transient fault kube-5xx; retry)",
                               "ServiceUnavailable", headers={"Retry-After": "1"})
            user = self._authenticate(req, path)
            return self._route(req, path, user)
        except ApiError as exc:
            return Response(exc.code, exc.status(), headers=dict(exc.headers))
        except Exception as exc:  # a bug must not kill the server: answer 500 and go on
            import traceback

            traceback.print_exc()
            err = ApiError(500, f"Internal error occurred: {type(exc).__name__}: {exc}")
            return Response(500, err.status())

    # -- identity ---------------------------------------------------------------------------
    def _authenticate(self, req: Request, path: str) -> UserInfo | None:
        """The caller, after impersonation; None for anonymous calls to public paths."""
        auth = req.header("authorization")
        if not auth.lower().startswith("bearer "):
            if path in ("/version", "/version/"):
                return None
            raise ApiError(401, "Unauthorized", "Unauthorized")
        user = self.tokens.authenticate(auth[7:].strip(), self._lookup_sa)
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return self._impersonate(req, user)

    def _lookup_sa(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A service account from the store (for token checks)."""
        return self.store.get(("", "serviceaccounts"), namespace, name)

    def _impersonate(self, req: Request, user: UserInfo) -> UserInfo:
        """Apply ``Impersonate-User``/``-Group`` when the caller may impersonate."""
        target = req.header("impersonate-user")
        groups = [g for v in req.headers.get("impersonate-group", []) for g in v.split(",")
                  if g.strip()]
        if not target:
            if groups:
                raise ApiError(400, "requested impersonation of groups without a user; add "
                                    "Impersonate-User (kubectl --as)", "BadRequest")
            return user
        if target.startswith("system:serviceaccount:") and target.count(":") == 3:
            _, _, ns, name = target.split(":")
            attrs = Attributes("impersonate", "", "serviceaccounts", namespace=ns, name=name)
            subject = service_account_user(ns, name)
            if groups:
                subject = UserInfo(subject.name, tuple(groups) + ("system:authenticated",))
        else:
            attrs = Attributes("impersonate", "", "users", name=target)
            subject = UserInfo(target, tuple(groups) + ("system:authenticated",))
        if not self.authz.allowed(user, attrs):
            raise errors.forbidden(user.name, "impersonate", attrs.resource, "", attrs.namespace,
                                   target)
        for g in groups:
            if not self.authz.allowed(user, Attributes("impersonate", "", "groups", name=g)):
                raise errors.forbidden(user.name, "impersonate", "groups", "", None, g)
        return subject

    def _authorize(self, user: UserInfo | None, attrs: Attributes) -> None:
        """403 unless RBAC allows the request."""
        if user is None:
            user = UserInfo("system:anonymous", ("system:unauthenticated",))
        if self.authz.allowed(user, attrs):
            return
        if not attrs.resource_request:
            raise ApiError(403, f'forbidden: User "{user.name}" cannot {attrs.verb} path '
                                f'"{attrs.path}"', "Forbidden", details={})
        raise errors.forbidden(user.name, attrs.verb, attrs.resource, attrs.group,
                               attrs.namespace or None, attrs.name or None, attrs.subresource)

    # -- routing ----------------------------------------------------------------------------
    def _route(self, req: Request, path: str, user: UserInfo | None) -> Response:
        """Discovery, OpenAPI and version paths, else a resource request."""
        segs = [s for s in path.split("/") if s]
        if not segs or segs[0] not in ("api", "apis") or \
                (segs[0] == "api" and len(segs) <= 2) or (segs[0] == "apis" and len(segs) <= 3):
            self._authorize(user, Attributes(_http_verb(req.method), path=path,
                                             resource_request=False))
            return self._non_resource(req, path, segs)
        return self._resource(req, segs, user)

    def _non_resource(self, req: Request, path: str, segs: list[str]) -> Response:
        """Version, discovery and OpenAPI documents."""
        if req.method not in ("GET", "HEAD"):
            raise ApiError(405, "the server does not allow this method on the requested "
                                "resource", "MethodNotAllowed")
        types = self.registry.all()
        doc: Any = None
        if segs in (["api"], ["apis"]):
            from .aggregated import V2_MEDIA_TYPE, discovery_v2, wants_aggregated

            if wants_aggregated(req.header("accept")):
                return Response(200, discovery_v2(types, core=segs == ["api"]),
                                headers={"Vary": "Accept"}, content_type=V2_MEDIA_TYPE)
        if segs == ["openapi", "v2"]:
            # kubectl validates against /openapi/v3 and falls back here for a kind it does not
            # find there; without this it reports "could not find the requested resource"
            # instead of the real "no matches for kind ... ensure CRDs are installed first"
            if "protobuf" in (req.header("accept") or ""):
                return Response(200, discovery.openapi_v2_protobuf(),
                                content_type=discovery.OPENAPI_V2_PROTOBUF)
            doc = discovery.openapi_v2()
        elif path in ("/version", "/version/"):
            doc = discovery.VERSION
        elif segs == ["api"]:
            doc = discovery.api_versions(self.host)
        elif segs[:1] == ["api"] and len(segs) == 2:
            doc = discovery.resource_list(types, "", segs[1])
        elif segs == ["apis"]:
            doc = discovery.api_groups(types)
        elif segs[:1] == ["apis"] and len(segs) == 2:
            doc = discovery.api_group(types, segs[1])
        elif segs[:1] == ["apis"] and len(segs) == 3:
            doc = discovery.resource_list(types, segs[1], segs[2])
        elif segs == ["openapi", "v3"]:
            doc = discovery.openapi_root(types, self.registry.schema)
        elif segs[:2] == ["openapi", "v3"] and len(segs) >= 4:
            if segs[2] == "api" and len(segs) == 4:
                doc = discovery.openapi_gv(types, "", segs[3], self.registry.schema)
            elif segs[2] == "apis" and len(segs) == 5:
                doc = discovery.openapi_gv(types, segs[3], segs[4], self.registry.schema)
        if doc is None:
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           details={})
        return Response(200, doc)

    def _parse_route(self, segs: list[str]) -> Route:
        """``/api/v1/...`` or ``/apis/g/v/...`` -> type, namespace, name, subresource."""
        if segs[0] == "api":
            group, version, rest = "", segs[1], segs[2:]
        else:
            group, version, rest = segs[1], segs[2], segs[3:]
        ns = ""
        if rest[0] == "namespaces" and len(rest) >= 3 and \
                not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           details={})
        plural, name, sub = rest[0], rest[1] if len(rest) > 1 else "", \
            rest[2] if len(rest) > 2 else ""
        t = self.registry.lookup(group, version, plural)
        if t is None:
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           details={})
        if ns and not t.namespaced:
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           details={})
        if sub == "finalize" and plural == "namespaces":
            sub = "status"
        if sub and sub not in t.subresources:
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           details={})
        return Route(t, ns, name, sub)

    def _resource(self, req: Request, segs: list[str], user: UserInfo | None) -> Response:
        """Authorise and perform a resource request."""
        route = self._parse_route(segs)
        t, ns, name, sub = route.t, route.namespace, route.name, route.sub
        watching = req.query.get("watch") in ("1", "true", "True")
        verb = _rbac_verb(req.method, bool(name), watching)
        if verb is None:
            raise ApiError(405, "the server does not allow this method on the requested "
                                "resource", "MethodNotAllowed")
        self._authorize(user, Attributes(verb, t.group, t.plural, sub, ns, name))
        if t.virtual:
            if verb != "create":
                raise ApiError(405, f"{t.kind} only supports create", "MethodNotAllowed")
            user = user or UserInfo("system:anonymous")
            return Response(201, reviews.review(t.kind, self._body(req), user, self.authz, ns))
        if t.namespaced and not ns and verb not in ("list", "watch"):
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           details={})
        if verb not in t.verbs and not sub:
            raise ApiError(405, f"{t.qualified} does not support {verb}", "MethodNotAllowed")
        if sub == "token":
            if verb != "create":
                raise ApiError(405, "serviceaccounts/token only supports create",
                               "MethodNotAllowed")
            sa = self.store.get(t.store_key, ns, name)
            if sa is None:
                raise errors.not_found(t.plural, t.group, name)
            return Response(201, reviews.token_request(self.tokens, sa, self._body(req, True)))
        if sub == "scale" and t.crd is None:
            from .scale import handle_scale

            return handle_scale(self, req, t, ns, name, verb)
        return self._crud(req, route, verb)

    def _crud(self, req: Request, route: Route, verb: str) -> Response:
        """The object verbs."""
        t, ns, name, sub = route.t, route.namespace, route.name, route.sub
        q = req.query
        want_table = "as=Table" in req.header("accept")
        if verb == "get":
            obj = self.crud.get(t, ns, name)
            if want_table:
                return Response(200, tables.table(t, [obj], obj["metadata"].get(
                    "resourceVersion", ""), q.get("includeObject", "Metadata")))
            return Response(200, obj)
        if verb == "list":
            out = self.crud.list(t, ns or None, q)
            if want_table:
                items = [dict(i, apiVersion=t.api_version, kind=t.kind) for i in out["items"]]
                return Response(200, tables.table(t, items, out["metadata"]["resourceVersion"],
                                                  q.get("includeObject", "Metadata"),
                                                  out["metadata"].get("continue")))
            return Response(200, out)
        if verb == "watch":
            stream = watch_events(self, t, ns or None, q, want_table)
            return Response(200, stream=stream)
        if verb == "create":
            if name:
                raise ApiError(405, "the server does not allow this method on the requested "
                                    "resource", "MethodNotAllowed")
            obj = self.crud.create(t, ns, self._body(req), q)
            return self._written(201, t, obj, req)
        if verb == "update":
            obj = self.crud.update(t, ns, name, self._body(req), q, sub)
            return self._written(200, t, obj, req)
        if verb == "patch":
            obj = self.crud.patch(t, ns, name, req.body, req.header("content-type"), q, sub,
                                  parse=lambda b: self._parse(b, "application/yaml"))
            return self._written(200, t, obj, req)
        options = self._body(req, True) if req.body.strip() else None
        if verb == "delete":
            obj = self.crud.delete(t, ns, name, options, q)
            return Response(200, obj)
        return Response(200, self.crud.delete_collection(t, ns or None, q, options))

    def _written(self, code: int, t: ResourceType, obj: dict[str, Any], req: Request) -> Response:
        """A create/update answer, with unknown-field handling for ``fieldValidation``."""
        headers: dict[str, str] = {}
        warnings = self.crud.take_warnings()
        if warnings:
            headers["Warning"] = ", ".join('299 - ' + json.dumps(w) for w in warnings)
        return Response(code, obj, headers=headers)

    # -- bodies -----------------------------------------------------------------------------
    def _body(self, req: Request, optional: bool = False) -> Any:
        """The request body decoded from JSON or YAML (400 when malformed)."""
        if not req.body.strip():
            if optional:
                return None
            raise errors.bad_request("the request body is empty; send a JSON or YAML object")
        return self._parse(req.body, req.header("content-type"))

    @staticmethod
    def _parse(body: bytes, content_type: str) -> Any:
        """Decode a body by its content type."""
        if "protobuf" in content_type.lower():
            from .protobuf import decode

            return decode(body)
        if "yaml" in content_type.lower():
            import yaml

            try:
                return yaml.safe_load(body)
            except yaml.YAMLError as exc:
                raise errors.bad_request(f"the request body is not valid YAML: "
                                         f"{str(exc).splitlines()[0]}; fix the document and "
                                         "retry") from None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise errors.bad_request(f"the request body is not valid JSON ({exc}); send a JSON "
                                     "object, or YAML with Content-Type: application/yaml") \
                from None


def _http_verb(method: str) -> str:
    """Non-resource verbs are the lower-cased HTTP method (``get``, ``post``...)."""
    return "get" if method == "HEAD" else method.lower()


def _rbac_verb(method: str, named: bool, watching: bool) -> str | None:
    """The RBAC verb of a resource request (None for a method the path does not take)."""
    if method in ("GET", "HEAD"):
        if watching:
            return "watch"
        return "get" if named else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update" if named else None
    if method == "PATCH":
        return "patch" if named else None
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return None


def default_watch_timeout() -> float:
    """How long a watch lasts when the client gives no ``timeoutSeconds`` (30 to 60 minutes)."""
    return random.uniform(1800, 3600)


def monotonic() -> float:
    """Clock for watch deadlines (a function so the watch module stays small)."""
    return time.monotonic()
