"""The step protocol: what every lab step provides, and what the engine gives it.

A step is a small class with an ``id``, a ``title``, a ``lesson`` (what it does and why, in
Markdown), the ``inputs`` it needs with their validation, ``run(ctx, reporter)`` returning its
outputs, ``verify(ctx, outputs)`` (a cheap check that its result still holds), ``commands(ctx)``
(the equivalent ``aws``/``kubectl``/``kfp`` commands, so learners learn the real thing) and
``creates`` (the kinds of resource it may create; each one it does create is written to the ledger
through ``ctx.ledger`` the moment it exists, so that a crash cannot hide it from cleanup).

A :class:`Reporter` carries log lines, progress and commands to whichever front-end runs the lab.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

from wizard.secrets import MASK, Secret

Validator = Callable[[Any, "Context"], Any]


@dataclass(frozen=True)
class Expand:
    """An argument the learner's shell expands: ``$VAR`` or ``$(command)`` inside ``text``.

    Printed in double quotes, so a variable the lab's environment sets (``$AWS_S3_BUCKET_NAME``)
    or a value another command prints (``$(aws sts get-caller-identity ...)``) is filled in when
    the line runs, instead of being passed on literally.
    """

    text: str

    def __post_init__(self):
        if any(ch in self.text for ch in '"\\`'):
            raise ValueError(f"{self.text!r}: an expanded argument cannot hold '\"', '\\' or '`'")

    def __str__(self) -> str:
        return self.text


def partition_of(arn_or_region: str | None) -> str:
    """The AWS partition of an ARN (``arn:aws-cn:...``) or of a region name (``cn-north-1``)."""
    value = str(arn_or_region or "")
    if value.startswith("arn:"):
        return value.split(":")[1] or "aws"
    if value.startswith("cn-"):
        return "aws-cn"
    if value.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class Command:
    """A command a learner could type to do what a step does: ``aws ...``, ``kubectl ...``, ``kfp ...``.

    ``argv`` may hold :class:`Secret` values (they print as a placeholder) and :class:`Expand`
    values (they print in double quotes, for the shell to fill in).
    ``stdin`` is a document piped into the command (e.g. a manifest for ``kubectl apply -f -``).
    """

    argv: tuple
    note: str = ""
    stdin: str | None = None

    @property
    def tool(self) -> str:
        """The program: ``aws``, ``kubectl``, ``kfp`` ..."""
        return str(self.argv[0]) if self.argv else ""

    def shell(self) -> str:
        """The command as one shell line, secrets shown as a placeholder."""
        line = " ".join(_shell_word(a) for a in self.argv)
        if self.stdin is not None:
            line = f"{line} <<'EOF'\n{self.stdin.rstrip()}\nEOF"
        return line

    def __str__(self) -> str:
        return self.shell()


def _shell_word(arg) -> str:
    """One argument as the shell must see it."""
    if isinstance(arg, Secret):
        return "'<secret>'"
    if isinstance(arg, Expand):
        return f'"{arg.text}"'
    text = str(arg)
    return "'<secret>'" if text == MASK else shlex.quote(text)


def cmd(*argv, note: str = "", stdin: str | None = None) -> Command:
    """Shorthand: ``cmd("aws", "s3", "ls")``."""
    return Command(tuple(argv), note=note, stdin=stdin)


@dataclass
class InputSpec:
    """One value a step needs from the user.

    ``default`` may be a value or a callable taking the context (for defaults derived from the
    environment or earlier steps). ``validate`` takes the raw value and the context and returns the
    normalised value, or raises :class:`~wizard.errors.InputError` saying what to do.
    """

    name: str
    prompt: str
    help: str = ""
    default: Any = None
    validate: Validator | None = None
    secret: bool = False
    required: bool = True
    choices: list | Callable[["Context"], list] | None = None
    kind: str = "text"  # text | choice | confirm | multi | path
    #: False for a per-run decision (e.g. whether to repair): not kept in state for the next run
    remember: bool = True
    #: how interactive front-ends ask it: ``basic`` on its own; ``detected`` (a value the wizard
    #: found, e.g. the region) and ``advanced`` (a default that suits almost everyone) are shown
    #: together on one summary to confirm, so a learner makes one decision instead of many
    level: str = "basic"  # basic | detected | advanced
    #: whether the question applies in this context (e.g. a CRD path only for the 'path' source);
    #: one that does not is never asked and takes its default
    applies: Callable[["Context"], bool] | None = None

    def applies_to(self, ctx: "Context | None") -> bool:
        """Whether to ask this question here (True when unknown: asking is the safe side)."""
        if self.applies is None or ctx is None:
            return True
        try:
            return bool(self.applies(ctx))
        except Exception:  # noqa: BLE001 - a check that needs a service: ask
            return True

    def default_for(self, ctx: "Context") -> Any:
        """The default value for this context."""
        return self.default(ctx) if callable(self.default) else self.default

    def choices_for(self, ctx: "Context") -> list:
        """The choices for this context (empty when free text)."""
        if callable(self.choices):
            return list(self.choices(ctx))
        return list(self.choices or [])


@dataclass
class Resource:
    """Something the wizard created, as written to the ledger."""

    kind: str                 # e.g. iam-role, s3-object, k8s-secret, custom-resource
    name: str
    step: str = ""
    arn: str | None = None
    region: str | None = None
    namespace: str | None = None
    details: dict = field(default_factory=dict)


@dataclass
class VerifyResult:
    """The outcome of ``verify``: whether the step's result still holds, and if not, why."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@runtime_checkable
class Reporter(Protocol):
    """Where a step's narration goes: the TUI, the plain prompts, or the headless runner."""

    def log(self, message: str, level: str = "info") -> None:
        """A line for the learner (``level``: debug, info, success, warning, error)."""

    def progress(self, task: str, done: float, total: float | None = None, unit: str = "") -> None:
        """Progress of a long piece of work (``total`` None when unknown)."""

    def command(self, command: Command) -> None:
        """The equivalent command of what is being done right now."""

    def show(self, kind: str, data: Any) -> None:
        """A structured view (``kind``: table, digits, graph, resources...) front-ends may draw."""


class Step:
    """Base class for lab steps; subclasses set the class attributes and implement ``run``."""

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    lesson: ClassVar[str] = ""
    creates: ClassVar[tuple[str, ...]] = ()
    #: a step whose completion ends the lab (cleanup): once it is done, earlier steps' resources
    #: are gone on purpose, so a new run reports the lab complete instead of redoing it
    finishes_lab: ClassVar[bool] = False

    def input_specs(self) -> list[InputSpec]:
        """The inputs this step needs (none by default)."""
        return []

    def run(self, ctx: "Context", reporter: Reporter) -> dict:
        """Do the step's work and return its outputs (JSON-serialisable, no secrets)."""
        raise NotImplementedError

    def verify(self, ctx: "Context", outputs: dict) -> VerifyResult:
        """Check cheaply that the step's result still holds; by default it does."""
        return VerifyResult(True)

    def commands(self, ctx: "Context") -> list[Command]:
        """The equivalent commands of what this step does, for ``--explain`` and the TUI."""
        return []

    def __repr__(self) -> str:
        return f"<Step {self.id}>"


class Context:
    """What a step sees: the inputs, earlier outputs, the ledger, the clients and the user.

    Front-ends construct it through :class:`wizard.engine.Runner`; steps never build their own
    clients, so the sandbox and real AWS are the same code path.
    """

    def __init__(self, *, state_dir, doc: dict, ledger, target, inputs: dict,
                 confirm: Callable[[str], bool], assume_yes: bool = False, explain: bool = False,
                 notify: Callable[[str], None] | None = None, asks: bool = False):
        self.state_dir = state_dir
        # Where the clients report their retries (the runner's reporter), so a throttled call
        # shows "retrying" instead of a silent pause.
        self.notify = notify
        self._doc = doc
        self.ledger = ledger
        self.target = target
        self.inputs = inputs
        self._confirm = confirm
        self.assume_yes = assume_yes
        self.explain = explain
        #: a person answers ``confirm`` (TUI, plain prompts): a "no" is their choice, whereas
        #: headless without --yes cannot ask and its "no" means "not confirmed"
        self.asks = asks and not assume_yes
        self._clients = None

    @property
    def clients(self):
        """Service clients for the target (boto3, kubernetes, kfp), built on first use."""
        if self._clients is None:
            from wizard.clients import Clients

            self._clients = Clients(self.target, notify=self.notify)
        return self._clients

    def reset_clients(self) -> None:
        """Forget the built clients (after the target changed, e.g. another region was chosen)."""
        self._clients = None

    def outputs_of(self, step_id: str) -> dict:
        """The outputs an earlier step recorded (empty when it has none)."""
        return dict(self._doc.get("steps", {}).get(step_id, {}).get("outputs") or {})

    def input(self, name: str, default: Any = None) -> Any:
        """A resolved input value."""
        return self.inputs.get(name, default)

    def confirm(self, question: str) -> bool:
        """Ask the user to confirm a change (always yes with ``--yes``)."""
        return True if self.assume_yes else self._confirm(question)

    def confirm_own_change(self, question: str) -> bool:
        """Ask before changing what the learner owns (their own IAM identity): ``--yes`` does not
        answer this one, so with ``--yes`` (or no one to ask) the answer is no and the caller
        prints the command instead."""
        return False if self.assume_yes else bool(self._confirm(question))
