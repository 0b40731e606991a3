"""The doctor's vocabulary: a check's result, its registration, and how a check says what it found.

A check is a function ``fn(ctx) -> Finding`` registered with :func:`check`. It raises
:class:`Skip` when it has nothing to look at (a service it needs is down, the lab has not made
the thing yet). The runner turns findings into :class:`CheckResult` rows, times them, and makes a
crash into a failed row instead of an aborted doctor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

STATUSES = ("pass", "warn", "fail", "skip")


@dataclass
class CheckResult:
    """One check's verdict, as the CLI, the TUI and the bundle show it."""

    name: str
    title: str
    status: str                 # pass | warn | fail | skip
    found: str                  # what the check saw, in a sentence or two
    remediation: str = ""       # what to do about it (empty on pass)
    doc_url: str = ""           # AWS / Kubeflow / ACK documentation on the subject
    duration_s: float = 0.0
    slow: bool = False
    area: str = ""
    step: str | None = None     # the lab step after which this should hold, if any

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CheckResult":
        """Rebuild from :meth:`to_dict` output (unknown keys ignored)."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Finding:
    """What a check function returns: a status, what it found and what to do."""

    status: str
    found: str
    remediation: str = ""
    doc_url: str | None = None   # overrides the check's own link when the problem is specific


def ok(found: str) -> Finding:
    """The check passed; ``found`` says what was verified."""
    return Finding("pass", found)


def warn(found: str, remediation: str, doc_url: str | None = None) -> Finding:
    """Something looks off but need not stop the lab."""
    return Finding("warn", found, remediation, doc_url)


def fail(found: str, remediation: str, doc_url: str | None = None) -> Finding:
    """A known problem that will stop (or is stopping) the lab."""
    return Finding("fail", found, remediation, doc_url)


class Skip(Exception):
    """Raised by a check that has nothing to examine; the message says why."""


@dataclass(frozen=True)
class CheckSpec:
    """A registered check."""

    name: str
    title: str
    area: str
    fn: Callable
    doc_url: str
    slow: bool = False
    step: str | None = None      # the lab step that sets this up; before it, no failure
    order: int = 0
    summary: str = ""

    def describe(self) -> dict:
        """What ``--list-checks`` prints."""
        return {"name": self.name, "title": self.title, "area": self.area, "slow": self.slow,
                "step": self.step, "doc_url": self.doc_url, "summary": self.summary}


_REGISTRY: dict[str, CheckSpec] = {}


def check(name: str, title: str, *, area: str, doc_url: str, slow: bool = False,
          step: str | None = None) -> Callable[[Callable], Callable]:
    """Register the decorated function as the check ``name``."""

    def register(fn: Callable) -> Callable:
        """Add the check to the registry under its name."""
        if name in _REGISTRY:
            raise ValueError(f"two doctor checks are named {name!r}")
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else title
        _REGISTRY[name] = CheckSpec(name, title, area, fn, doc_url, slow, step,
                                    len(_REGISTRY), summary)
        return fn

    return register


def registry() -> dict[str, CheckSpec]:
    """Every registered check by name (the check modules are imported first)."""
    from wizard.doctor import checks  # noqa: F401 - importing registers the catalogue

    return dict(_REGISTRY)


@dataclass
class Catalogue:
    """Registered checks in run order: fast ones first, slow ones last."""

    specs: list[CheckSpec] = field(default_factory=list)

    @classmethod
    def load(cls) -> "Catalogue":
        """The catalogue from the registry."""
        specs = sorted(registry().values(), key=lambda s: (s.slow, s.order))
        return cls(specs)

    def names(self) -> list[str]:
        """Check names in run order."""
        return [s.name for s in self.specs]

    def select(self, names: list[str] | None) -> list[CheckSpec]:
        """The named checks (in run order), or all; an unknown name raises ``KeyError``."""
        if not names:
            return list(self.specs)
        known = {s.name: s for s in self.specs}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise KeyError(", ".join(unknown))
        wanted = set(names)
        return [s for s in self.specs if s.name in wanted]
