"""Authentication (bearer tokens) and a real RBAC authoriser for the sandbox's API server.

Two kinds of token: the admin token written into the kubeconfig (user ``kubernetes-admin`` in
group ``system:masters``, allowed everything), and service-account tokens minted by the
TokenRequest subresource. Those are HS256 JWTs shaped like the real ones, signed with a key kept
in ``data_dir/auth.json``, and bound to the service account's uid: delete the account and its
tokens stop working.

Authorisation walks RoleBindings and ClusterRoleBindings the way Kubernetes' RBAC authoriser
does (rules by apiGroups, resources incl. ``res/sub``, ``*/sub`` and ``res/*``, verbs incl.
``*``, resourceNames, nonResourceURLs), including aggregated ClusterRoles.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .selectors import match_label_selector_object

RBAC = "rbac.authorization.k8s.io"
ADMIN_USER = "kubernetes-admin"
ISSUER = "https://kubernetes.default.svc.cluster.local"

#: paths any authenticated user may read (system:discovery / system:public-info-viewer)
DISCOVERY_PATHS = ("/api", "/api/*", "/apis", "/apis/*", "/version", "/version/",
                   "/healthz", "/livez", "/readyz", "/openapi", "/openapi/*")
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version", "/version/")


@dataclass(frozen=True)
class UserInfo:
    """Who is calling: user name, groups and (for service accounts) uid."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """The UserInfo object as reviews report it."""
        out: dict[str, Any] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        return out


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, in RBAC's terms."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    """The identity a service account's token authenticates as."""
    return UserInfo(f"system:serviceaccount:{namespace}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                     "system:authenticated"), uid)


def _b64(data: bytes) -> str:
    """Unpadded base64url, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenAuthority:
    """Holds the admin token and the signing key; mints and checks service-account tokens."""

    def __init__(self, data_dir: Path):
        """Set up the instance (see the class docstring)."""
        path = Path(data_dir) / "auth.json"
        try:
            doc = json.loads(path.read_text())
            self.admin_token, self._key = doc["admin_token"], bytes.fromhex(doc["signing_key"])
        except (OSError, ValueError, KeyError):
            self.admin_token = secrets.token_urlsafe(32)
            self._key = secrets.token_bytes(32)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump({"admin_token": self.admin_token, "signing_key": self._key.hex()}, fh)
            os.replace(tmp, path)

    def issue(self, namespace: str, name: str, uid: str, seconds: int | None,
              audiences: list[str] | None = None,
              bound: dict[str, Any] | None = None) -> tuple[str, int | None]:
        """A signed token for a service account and its expiry (epoch seconds, or None)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "sub": f"system:serviceaccount:{namespace}:{name}",
            "aud": audiences or [ISSUER], "iat": now, "nbf": now,
            "kubernetes.io": {"namespace": namespace,
                              "serviceaccount": {"name": name, "uid": uid}},
        }
        exp = now + seconds if seconds else None
        if exp:
            claims["exp"] = exp
        if bound:
            claims["kubernetes.io"][bound["kind"].lower()] = {"name": bound.get("name"),
                                                               "uid": bound.get("uid")}
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest())
        return f"{header}.{body}.{sig}", exp

    def authenticate(self, token: str, lookup_sa) -> UserInfo | None:
        """The user a bearer token stands for, or None when it is unknown, forged or expired.

        ``lookup_sa(namespace, name)`` returns the service account object or None; a token
        whose account is gone or was re-created (a different uid) no longer authenticates.
        """
        if hmac.compare_digest(token, self.admin_token):
            return UserInfo(ADMIN_USER, ("system:masters", "system:authenticated"))
        parts = token.split(".")
        if len(parts) != 3:
            return None
        want = _b64(hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(),
                             hashlib.sha256).digest())
        if not hmac.compare_digest(want, parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            info = claims["kubernetes.io"]
            ns, name, uid = info["namespace"], info["serviceaccount"]["name"], \
                info["serviceaccount"]["uid"]
        except (ValueError, KeyError, TypeError):
            return None
        if claims.get("exp") and claims["exp"] < time.time():
            return None
        sa = lookup_sa(ns, name)
        if sa is None or (uid and sa["metadata"].get("uid") != uid):
            return None
        return service_account_user(ns, name, uid)


def _subject_matches(subject: dict[str, Any], user: UserInfo, binding_ns: str) -> bool:
    """Whether a binding's subject names this user (directly, by group or as an account)."""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user.name == f"system:serviceaccount:{ns}:{name}"
    return False


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    """Whether one PolicyRule covers the request."""
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == attrs.path or (url.endswith("*") and
                                                   attrs.path.startswith(url[:-1])):
                return True
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    resources = rule.get("resources") or []
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not ("*" in resources or combined in resources or
            (attrs.subresource and (f"{attrs.resource}/*" in resources or
                                    f"*/{attrs.subresource}" in resources))):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


class Authorizer:
    """RBAC over the store's roles and bindings (read fresh on every decision)."""

    def __init__(self, store):
        """Set up the instance (see the class docstring)."""
        self.store = store

    def _cluster_role_rules(self, name: str, seen: frozenset = frozenset()) -> list[dict]:
        """A ClusterRole's rules, with aggregated roles' rules folded in."""
        role = self.store.get((RBAC, "clusterroles"), "", name)
        if role is None or name in seen:
            return []
        rules = list(role.get("rules") or [])
        agg = role.get("aggregationRule")
        if agg:
            for other in self.store.list((RBAC, "clusterroles")):
                labels = other["metadata"].get("labels") or {}
                other_name = other["metadata"]["name"]
                if other_name == name:
                    continue
                if any(match_label_selector_object(sel, labels)
                       for sel in agg.get("clusterRoleSelectors") or []):
                    rules += self._cluster_role_rules(other_name, seen | {name})
        return rules

    def _ref_rules(self, ref: dict[str, Any], namespace: str) -> list[dict]:
        """Rules of the role a binding refers to."""
        if ref.get("kind") == "ClusterRole":
            return self._cluster_role_rules(ref.get("name", ""))
        role = self.store.get((RBAC, "roles"), namespace, ref.get("name", ""))
        return list(role.get("rules") or []) if role else []

    def rules_for(self, user: UserInfo, namespace: str) -> list[dict[str, Any]]:
        """Every rule that applies to ``user`` in ``namespace`` ("" for cluster scope)."""
        rules = list(_implicit_rules(user))
        for crb in self.store.list((RBAC, "clusterrolebindings")):
            if any(_subject_matches(s, user, "") for s in crb.get("subjects") or []):
                rules += self._ref_rules(crb.get("roleRef") or {}, "")
        if namespace:
            for rb in self.store.list((RBAC, "rolebindings"), namespace):
                if any(_subject_matches(s, user, namespace) for s in rb.get("subjects") or []):
                    rules += self._ref_rules(rb.get("roleRef") or {}, namespace)
        return rules

    def allowed(self, user: UserInfo, attrs: Attributes) -> bool:
        """The RBAC decision for one request."""
        if "system:masters" in user.groups:
            return True
        if not attrs.resource_request and attrs.path in PUBLIC_PATHS:
            return True
        return any(rule_allows(r, attrs) for r in self.rules_for(user, attrs.namespace))


def _implicit_rules(user: UserInfo) -> list[dict[str, Any]]:
    """What the default bindings give every authenticated user (discovery, self reviews)."""
    if "system:authenticated" not in user.groups:
        return []
    return [
        {"verbs": ["get"], "nonResourceURLs": list(DISCOVERY_PATHS)},
        {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
         "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
        {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
         "resources": ["selfsubjectreviews"]},
    ]
