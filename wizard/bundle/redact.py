"""Redaction for support bundles, with a report of what was hidden where.

Builds on :func:`wizard.secrets.redact` (registered secrets and the core's credential shapes) and
adds what a bundle meets that a log line rarely does: bare AWS secret keys, session tokens,
cookies and bearer tokens in any header form (oauth2_proxy's included), passwords in config text,
in URLs (``https://user:pass@host``) and on command lines (``--password value``), environment
assignments of tokens, secrets and passwords (``KF_PIPELINES_TOKEN=...``), kubeconfig tokens and
keys, and secret-looking fields in JSON documents (``{"name": "X_TOKEN", "value": ...}`` too). Kubernetes Secret values are replaced by their
length before any text is written. Every replacement is counted per file and kind, so the report
can say "3 bearer tokens hidden in kubernetes/events.json" without saying what they were.
"""

from __future__ import annotations

import re
from collections import Counter

from wizard.secrets import (MASK, OAUTH2_PROXY_COOKIE, PASSWORD_FLAG, SECRET_ENV_ASSIGNMENT,
                            URL_PASSWORD, redact as core_redact)

#: (kind, pattern, group to keep before the mask); kinds name what was hidden in the report
PATTERNS: list[tuple[str, re.Pattern, int]] = [
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE "
                               r"KEY-----", re.S), 0),
    ("AWS session token", re.compile(
        r"(?i)((?:aws_session_token|sessiontoken|session_token|x-amz-security-token)[\"']?\s*"
        r"[:=]\s*[\"']?)[A-Za-z0-9/+=%]{16,}"), 1),
    ("AWS session token", re.compile(r"\b(?:FwoGZXIvYXdz|IQoJb3JpZ2luX2Vj)[A-Za-z0-9/+=]{20,}"),
     0),
    ("AWS secret key", re.compile(
        r"(?i)((?:aws_secret_access_key|secretaccesskey|secret_access_key|secret_key)[\"']?\s*"
        r"[:=]\s*[\"']?)[A-Za-z0-9/+=]{16,}"), 1),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"), 0),
    ("secret environment variable", SECRET_ENV_ASSIGNMENT, 1),
    ("password in URL", URL_PASSWORD, 1),
    ("password flag", PASSWORD_FLAG, 1),
    ("oauth2_proxy cookie", OAUTH2_PROXY_COOKIE, 1),
    ("AWS signature", re.compile(r"(?i)((?:x-amz-signature=|signature=)[\"']?)[0-9a-f]{64}"), 1),
    ("bearer token", re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), 1),
    ("cookie", re.compile(r"(?i)((?:^|[\s\"'{,])(?:set-)?cookie[\"']?\s*[:=]\s*[\"']?)"
                          r"[^\s\"';]+(?:;\s*[^\s\"';]+)*"), 1),
    ("cookie", re.compile(r"(?i)(authservice_session=)[^;\s\"']+"), 1),
    ("password", re.compile(r"(?i)((?:password|passwd|pwd)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"),
     1),
    ("kubeconfig token", re.compile(r"(?im)^(\s*(?:token|client-key-data|"
                                    r"client-certificate-data)\s*:\s*)\S+"), 1),
    ("secret JSON field", re.compile(r'(?i)("[\w.\-/]*(?:token|password|passwd|cookie|secret)'
                                     r'"\s*:\s*")[^"]+'), 1),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
     0),
    # a bare 40-character AWS secret key: mixed case, digits, maybe / or + (a SHA-1 in hex is
    # lower-case only and is left alone)
    ("AWS secret key", re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])"
                                  r"(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])"
                                  r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), 0),
]

#: JSON keys whose string values are secrets whatever they look like
SECRET_KEY = re.compile(
    r"(?i)(^|[_\-./])(password|passwd|token|cookie|cookies|secret|secret_?access_?key|"
    r"session_?token|private_?key|client-key-data|api_?key|authorization|credentials?)$")


class Redactor:
    """Scrubs texts and JSON objects, counting what it hid per file and kind."""

    def __init__(self, enabled: bool = True):
        """Keep what the instance needs (see the class docstring)."""
        self.enabled = enabled
        self.counts: Counter[tuple[str, str]] = Counter()

    def text(self, text: str, where: str) -> str:
        """``text`` with every secret masked; counts go under ``where``."""
        if not self.enabled or not text:
            return text
        for kind, pattern, keep in PATTERNS:
            def mask(match: re.Match, kind=kind, keep=keep) -> str:
                """Count one hidden value and return its replacement."""
                kept = match.group(keep) if keep else ""
                if match.group(0)[len(kept):].strip("\"'") == MASK:
                    return match.group(0)  # an earlier pattern hid it already: count it once
                self.counts[(where, kind)] += 1
                return kept + MASK

            text = pattern.sub(mask, text)
        before = text.count(MASK)
        text = core_redact(text)  # registered secrets (Secret values this process has seen)
        extra = text.count(MASK) - before
        if extra > 0:
            self.counts[(where, "registered secret")] += extra
        return text

    def obj(self, obj, where: str, key: str = ""):
        """A copy of a JSON-like object with secret fields and secret-shaped strings masked."""
        if not self.enabled:
            return obj
        if isinstance(obj, dict):
            # {"name": "KF_PIPELINES_TOKEN", "value": "..."}: a container's env entry, whose
            # value is as secret as its name says
            env_name = obj.get("name") if isinstance(obj.get("value"), str) else None
            if isinstance(env_name, str) and SECRET_KEY.search(env_name):
                return {k: self.obj(v, where, env_name if k == "value" else str(k))
                        for k, v in obj.items()}
            return {k: self.obj(v, where, str(k)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.obj(v, where, key) for v in obj]
        if isinstance(obj, str):
            if key and SECRET_KEY.search(key) and obj and obj != MASK and \
                    not obj.startswith("<redacted") and not obj.endswith("value not included>"):
                self.counts[(where, f"'{key}' field")] += 1
                return f"<redacted: {len(obj)} characters>"
            return self.text(obj, where)
        return obj

    def report(self) -> list[dict]:
        """What was hidden: one row per file and kind, with a count; never the values."""
        return [{"file": where, "kind": kind, "count": count}
                for (where, kind), count in sorted(self.counts.items())]


def secret_values_to_lengths(secret: dict) -> dict:
    """A Kubernetes Secret (as a dict) whose ``data``/``stringData`` values are their lengths."""
    import base64

    out = dict(secret)
    for field in ("data", "stringData"):
        values = out.get(field) or {}
        lengths = {}
        for name, value in values.items():
            if field == "data":
                try:
                    size = len(base64.b64decode(value or ""))
                except ValueError:
                    size = len(value or "")
            else:
                size = len(value or "")
            lengths[name] = f"<{size} bytes, value not included>"
        if values:
            out[field] = lengths
    meta = dict(out.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    # kubectl apply keeps the whole object, values included, in this annotation
    if "kubectl.kubernetes.io/last-applied-configuration" in annotations:
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = \
            "<removed: it repeats the secret's values>"
        meta["annotations"] = annotations
        out["metadata"] = meta
    meta.pop("managedFields", None)
    return out
