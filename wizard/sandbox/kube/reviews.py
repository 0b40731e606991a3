"""Create-only review kinds and the TokenRequest subresource.

``SelfSubjectAccessReview``/``SubjectAccessReview``/``LocalSubjectAccessReview`` ask the RBAC
authoriser a question and answer it in ``status``; ``SelfSubjectRulesReview`` lists a user's
rules in a namespace (``kubectl auth can-i --list``); ``SelfSubjectReview`` answers
``kubectl auth whoami``. ``POST .../serviceaccounts/<name>/token`` mints a token bound to the
account.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from . import errors
from .auth import Attributes, Authorizer, UserInfo


def _attrs(spec: dict[str, Any], default_ns: str = "") -> Attributes:
    """Review spec -> authoriser attributes."""
    ra = spec.get("resourceAttributes")
    if ra:
        return Attributes(verb=ra.get("verb", ""), group=ra.get("group", ""),
                          resource=ra.get("resource", ""), subresource=ra.get("subresource", ""),
                          namespace=ra.get("namespace") or default_ns, name=ra.get("name", ""))
    nra = spec.get("nonResourceAttributes") or {}
    if not nra and not ra:
        raise errors.invalid("SubjectAccessReview", "authorization.k8s.io", "", [
            {"reason": "FieldValueRequired", "field": "spec.resourceAttributes",
             "message": "Required value: exactly one of nonResourceAttributes or "
                        "resourceAttributes must be specified"}])
    return Attributes(verb=nra.get("verb", ""), path=nra.get("path", ""), resource_request=False)


def _answer(body: dict[str, Any], allowed: bool, kind: str) -> dict[str, Any]:
    """The review echoed back with its status."""
    out = dict(body, apiVersion="authorization.k8s.io/v1", kind=kind)
    out.setdefault("metadata", {})
    out["metadata"]["creationTimestamp"] = None
    status: dict[str, Any] = {"allowed": allowed}
    if allowed:
        status["reason"] = "RBAC: allowed by a role binding"
    out["status"] = status
    return out


def review(kind: str, body: dict[str, Any], user: UserInfo, authz: Authorizer,
           namespace: str = "") -> dict[str, Any]:
    """Answer one review object of ``kind`` posted by ``user``."""
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body of the request was not a {kind} object")
    spec = body.get("spec") or {}
    if kind == "SelfSubjectAccessReview":
        return _answer(body, authz.allowed(user, _attrs(spec)), kind)
    if kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        name = spec.get("user", "")
        groups = tuple(spec.get("groups") or ())
        if name.startswith("system:serviceaccount:") and not groups:
            ns = name.split(":")[2]
            groups = ("system:serviceaccounts", f"system:serviceaccounts:{ns}")
        subject = UserInfo(name, groups + ("system:authenticated",), spec.get("uid", ""))
        if kind == "LocalSubjectAccessReview":
            ra = spec.get("resourceAttributes") or {}
            if ra.get("namespace") not in (None, "", namespace):
                raise errors.bad_request("spec.resourceAttributes.namespace must match the "
                                         "namespace in the URL")
        return _answer(body, authz.allowed(subject, _attrs(spec, namespace)), kind)
    if kind == "SelfSubjectRulesReview":
        ns = spec.get("namespace", "")
        rules = authz.rules_for(user, ns)
        if "system:masters" in user.groups:
            rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                     {"verbs": ["*"], "nonResourceURLs": ["*"]}] + rules
        res = [dict({k: r.get(k, []) for k in ("verbs", "apiGroups", "resources")},
                    **({"resourceNames": r["resourceNames"]} if r.get("resourceNames") else {}))
               for r in rules if not r.get("nonResourceURLs")]
        nonres = [{"verbs": r["verbs"], "nonResourceURLs": r["nonResourceURLs"]}
                  for r in rules if r.get("nonResourceURLs")]
        out = dict(body, apiVersion="authorization.k8s.io/v1", kind=kind)
        out["status"] = {"resourceRules": res, "nonResourceRules": nonres, "incomplete": False}
        return out
    if kind == "SelfSubjectReview":
        return {"apiVersion": "authentication.k8s.io/v1", "kind": kind,
                "metadata": {"creationTimestamp": None}, "status": {"userInfo": user.to_dict()}}
    raise errors.ApiError(405, f"{kind} does not support this operation")


def token_request(tokens, sa: dict[str, Any], body: Any) -> dict[str, Any]:
    """Mint a token for ``sa`` as the TokenRequest subresource does."""
    if body is not None and not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a TokenRequest object")
    body = body or {}
    spec = body.get("spec") or {}
    seconds = spec.get("expirationSeconds") or 3600
    if not isinstance(seconds, int) or seconds < 600:
        raise errors.invalid("TokenRequest", "authentication.k8s.io", sa["metadata"]["name"], [
            {"reason": "FieldValueInvalid", "field": "spec.expirationSeconds",
             "message": f"Invalid value: {seconds}: may not specify a duration less than 10 "
                        "minutes"}])
    meta = sa["metadata"]
    token, exp = tokens.issue(meta["namespace"], meta["name"], meta["uid"], seconds,
                              spec.get("audiences"), spec.get("boundObjectRef"))
    stamp = datetime.fromtimestamp(exp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "creationTimestamp": None},
            "spec": {"audiences": spec.get("audiences") or
                     ["https://kubernetes.default.svc.cluster.local"],
                     "expirationSeconds": seconds, "boundObjectRef": spec.get("boundObjectRef")},
            "status": {"token": token, "expirationTimestamp": stamp}}
