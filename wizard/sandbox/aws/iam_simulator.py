"""IAM's ``SimulatePrincipalPolicy`` for the sandbox, which moto does not implement.

The wizard asks IAM's policy simulator whether the learner may call an action (e.g.
``sagemaker:InvokeEndpoint``), because only IAM's own evaluation sees group policies,
permissions boundaries and explicit denies. moto answers the call with an error page, so the
sandbox evaluates it here, from moto's IAM objects, the way IAM's documented logic does for one
account without SCPs or resource policies:

* an explicit ``Deny`` in any identity policy (inline, managed, or a group's) or in the
  permissions boundary wins: ``explicitDeny``;
* otherwise an ``Allow`` in an identity policy, and (when there is a boundary) in the boundary
  too: ``allowed``;
* otherwise ``implicitDeny``.

Conditions are evaluated against the ``ContextEntries`` of the call for the string and ARN
operators (``StringEquals``, ``StringLike``, ``ArnLike``, ``ArnEquals`` and their ``Not``
forms); a statement whose condition names a key the call did not give, or an operator not
listed, does not apply, as IAM's simulator treats missing context values. moto keeps no permissions
boundary on users (it does not implement ``PutUserPermissionsBoundary``); roles' boundaries
are honoured.
"""

from __future__ import annotations

import fnmatch
import json
import uuid
from typing import Any, Iterable
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

NS = "https://iam.amazonaws.com/doc/2010-05-08/"


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _matches(patterns, value: str) -> bool:
    """Whether an IAM pattern list (``*`` and ``?`` wildcards) matches, case-insensitively."""
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _list(patterns))


_OPERATORS = {"StringEquals": (False, False), "StringNotEquals": (False, True),
              "StringLike": (True, False), "StringNotLike": (True, True),
              "ArnEquals": (False, False), "ArnLike": (True, False),
              "ArnNotEquals": (False, True), "ArnNotLike": (True, True)}


def _condition_holds(condition: dict, context: dict) -> bool:
    """Whether every operator of a Condition block holds for the given context values."""
    for operator, tests in condition.items():
        if operator not in _OPERATORS or not isinstance(tests, dict):
            return False
        like, negated = _OPERATORS[operator]
        for key, wanted in tests.items():
            given = context.get(key.lower())
            if given is None:
                return False
            hit = any((fnmatch.fnmatchcase(g, str(w)) if like else g == str(w))
                      for g in given for w in _list(wanted))
            if hit == negated:
                return False
    return True


def _applies(statement: dict, action: str, resource: str, context: dict | None = None) -> bool:
    """Whether a statement speaks about ``action`` on ``resource`` in this context."""
    if statement.get("Condition") and not _condition_holds(statement["Condition"], context or {}):
        return False
    if "NotAction" in statement:
        if _matches(statement["NotAction"], action):
            return False
    elif not _matches(statement.get("Action", []), action):
        return False
    if "NotResource" in statement:
        return not _matches(statement["NotResource"], resource)
    return _matches(statement.get("Resource", "*"), resource)


def _decide(documents: Iterable[tuple[str, Any]], action: str, resource: str,
            context: dict | None = None):
    """(``allow`` | ``deny`` | None, ids of the statements' policies that matched)."""
    allowed, matched = False, []
    for policy_id, document in documents:
        doc = json.loads(unquote(document)) if isinstance(document, str) else document
        for statement in _list(doc.get("Statement", [])):
            if not _applies(statement, action, resource, context):
                continue
            if statement.get("Effect") == "Deny":
                return "deny", [policy_id]
            if statement.get("Effect") == "Allow":
                allowed = True
                matched.append(policy_id)
    return ("allow" if allowed else None), matched


def _managed_document(policy) -> str:
    """A managed policy's default version's document."""
    return next(v.document for v in policy.versions if v.is_default)


def _principal(backend, arn: str):
    """(identity documents, boundary document or None) of the user or role an ARN names."""
    resource = arn.split(":", 5)[-1]
    kind, name = resource.split("/", 1)[0], resource.rsplit("/", 1)[-1]
    documents: list[tuple[str, Any]] = []
    boundary = None
    if kind == "user":
        entity = backend.get_user(name)
        owners = [entity] + list(backend.get_groups_for_user(name))
    elif kind == "role":
        entity = backend.get_role(name)
        owners = [entity]
        if getattr(entity, "permissions_boundary_arn", None):
            boundary = _managed_document(backend.get_policy(entity.permissions_boundary_arn))
    else:
        raise ValueError(f"{arn} is not a user or a role")
    for owner in owners:
        documents += [(policy_name, doc) for policy_name, doc in owner.policies.items()]
        documents += [(policy.name, _managed_document(policy))
                      for policy in owner.managed_policies.values()]
    return documents, boundary


def evaluate(backend, source_arn: str, actions: list[str], resources: list[str],
             context: dict | None = None) -> list[dict]:
    """One evaluation result per action and resource, in the API's shape (``context``: context
    key names, lower-cased, to their values)."""
    documents, boundary = _principal(backend, source_arn)
    results = []
    for action in actions:
        for resource in resources or ["*"]:
            verdict, matched = _decide(documents, action, resource, context)
            bound_ok = True
            if boundary is not None:
                bound, bound_ids = _decide([("PermissionsBoundary", boundary)], action, resource,
                                           context)
                bound_ok = bound == "allow"
                if bound == "deny":
                    verdict, matched = "deny", bound_ids
            if verdict == "deny":
                decision = "explicitDeny"
            elif verdict == "allow" and bound_ok:
                decision = "allowed"
            else:
                decision = "implicitDeny"
            result = {"EvalActionName": action, "EvalResourceName": resource,
                      "EvalDecision": decision, "MatchedStatements": matched}
            if boundary is not None:
                result["AllowedByPermissionsBoundary"] = bound_ok
            results.append(result)
    return results


def _xml(results: list[dict]) -> bytes:
    """The query-protocol answer."""
    members = []
    for r in results:
        matched = "".join(f"<member><SourcePolicyId>{escape(m)}</SourcePolicyId>"
                          "<SourcePolicyType>IAM Policy</SourcePolicyType></member>"
                          for m in r["MatchedStatements"])
        boundary = ""
        if "AllowedByPermissionsBoundary" in r:
            boundary = ("<PermissionsBoundaryDecisionDetail><AllowedByPermissionsBoundary>"
                        f"{str(r['AllowedByPermissionsBoundary']).lower()}"
                        "</AllowedByPermissionsBoundary></PermissionsBoundaryDecisionDetail>")
        members.append(
            f"<member><EvalActionName>{escape(r['EvalActionName'])}</EvalActionName>"
            f"<EvalResourceName>{escape(r['EvalResourceName'])}</EvalResourceName>"
            f"<EvalDecision>{r['EvalDecision']}</EvalDecision>"
            f"<MatchedStatements>{matched}</MatchedStatements>"
            f"<MissingContextValues/>{boundary}</member>")
    return (f'<SimulatePrincipalPolicyResponse xmlns="{NS}"><SimulatePrincipalPolicyResult>'
            f"<IsTruncated>false</IsTruncated><EvaluationResults>{''.join(members)}"
            "</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>"
            f"{uuid.uuid4()}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"
            ).encode()


def _error(code: str, message: str, status: str = "400 Bad Request"):
    body = (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
            "</ErrorResponse>").encode()
    return status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body


def answer(form: str):
    """(status, headers, body) for a ``SimulatePrincipalPolicy`` form body."""
    from moto.iam.models import iam_backends

    params = parse_qs(form)
    source = (params.get("PolicySourceArn") or [""])[0]
    actions = [v[0] for k, v in sorted(params.items()) if k.startswith("ActionNames.member.")]
    resources = [v[0] for k, v in sorted(params.items())
                 if k.startswith("ResourceArns.member.")]
    context: dict[str, list[str]] = {}
    for k, v in params.items():  # ContextEntries.member.N.ContextKeyName / ContextKeyValues...
        if k.startswith("ContextEntries.member.") and k.endswith(".ContextKeyName"):
            prefix = k[: -len("ContextKeyName")]
            values = [vals[0] for key, vals in sorted(params.items())
                      if key.startswith(prefix + "ContextKeyValues.member.")]
            context[v[0].lower()] = values
    parts = source.split(":")
    if len(parts) < 6 or not actions:
        return _error("InvalidInput", "PolicySourceArn and ActionNames are required.")
    try:
        results = evaluate(iam_backends[parts[4]][parts[1]], source, actions, resources, context)
    except Exception as exc:  # noqa: BLE001 - moto says the entity does not exist
        return _error("NoSuchEntity", f"{source} does not exist ({type(exc).__name__}).",
                      "404 Not Found")
    body = _xml(results)
    return "200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body
