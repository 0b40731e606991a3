"""Secret values: redacted everywhere but at the one place that needs them.

A :class:`Secret` hides its value from ``str``, ``repr``, formatting and JSON. Every secret made is
also registered so that :func:`redact` can scrub it from any text (log lines, events, screen output,
bundles) even after it was unwrapped by the code that needed it.
"""

from __future__ import annotations

import re
import threading

MASK = "********"

_registry: set[str] = set()
_registry_lock = threading.Lock()

# Credential shapes that a log line, a command shown on screen or a bundle can all meet; the
# bundle's redactor reuses these (and adds shapes only whole documents have).

#: an environment assignment of a token, secret or password (KF_PIPELINES_TOKEN=..., export
#: DB_PASSWORD="..."); upper-case names only, so page tokens in URLs (next_page_token=) and prose
#: stay readable; group 1 is kept
SECRET_ENV_ASSIGNMENT = re.compile(
    r"\b([A-Z][A-Z0-9_]*_(?:TOKEN|SECRET|PASSWORD|PASSWD|PWD)\s*=\s*)"
    r"(?:\"[^\"]*\"|'[^']*'|[^\s\"';&|]+)")
#: the password of a URL's userinfo (scheme://user:password@host); group 1 is kept
URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@\"'<>]+:)[^@\s/\"'<>]+(?=@)")
#: a password or token given as a command-line flag's separate argument (--password value); a
#: following flag (--password-stdin, --token -) is not a value; group 1 is kept
PASSWORD_FLAG = re.compile(r"(?i)((?<![\w-])--?(?:password|passwd|token|client-secret)"
                           r"\s+[\"']?)(?!-)[^\s\"']+")
#: oauth2_proxy's session cookie (Kubeflow behind oauth2-proxy); group 1 is kept
OAUTH2_PROXY_COOKIE = re.compile(r"(?i)(\b_oauth2_proxy[\w-]*=)[^;\s\"',]+")

# Shapes of credentials that must never be shown even when nobody registered them: AWS access key
# ids, AWS secret keys in key=value form, bearer tokens, session cookies, JWTs, and the shared
# shapes above.
_PATTERNS = [
    SECRET_ENV_ASSIGNMENT,
    URL_PASSWORD,
    PASSWORD_FLAG,
    OAUTH2_PROXY_COOKIE,
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"),
    re.compile(r"(?i)(aws_secret_access_key|secretaccesskey|secret_access_key)(\"?\s*[:=]\s*\"?)[A-Za-z0-9/+=]{30,}"),
    re.compile(r"(?i)(aws_session_token|sessiontoken|session_token)(\"?\s*[:=]\s*\"?)[A-Za-z0-9/+=]{40,}"),
    re.compile(r"(?i)(authorization\"?\s*[:=]\s*\"?bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(authservice_session=)[^;\s\"']+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),
]


def register(value: str) -> None:
    """Remember ``value`` as secret so that :func:`redact` hides it wherever it turns up."""
    if value and len(value) >= 4:
        with _registry_lock:
            _registry.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential-shaped string masked."""
    if not text:
        return text
    with _registry_lock:
        values = sorted(_registry, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        if pattern.groups >= 1:
            text = pattern.sub(lambda m: "".join(g for g in m.groups()[:2] if g) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text


def redact_obj(obj):
    """A copy of a JSON-like structure with secrets masked and :class:`Secret` values hidden."""
    if isinstance(obj, Secret):
        return MASK
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


class Secret:
    """A value that must not be shown, logged or stored.

    ``reveal()`` is the only way to the value; use it at the call that needs it (an API request)
    and nowhere else.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value
        register(value)

    def reveal(self) -> str:
        """The secret value itself."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):
        # pickling would write the value to disk or a pipe; refuse instead
        raise TypeError("a Secret cannot be pickled")
