"""Resolving a step's inputs: answers file, saved inputs, defaults, and the user.

Order: a value from ``--answers FILE`` wins, then what the user gave in an earlier run (kept in
state), then the input's default, then the prompt (interactive front-ends only). Every value goes
through the input's validator; a bad one from a file is an :class:`InputError` naming the key and
what to do, a bad one typed at a prompt is asked again. Secret inputs are never kept in state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from wizard.errors import InputError
from wizard.protocol import Context, InputSpec, Step
from wizard.secrets import Secret

#: the prompter front-ends provide: (spec, default, error from the last try or None) -> raw value
Prompter = Callable[[InputSpec, Any, str | None], Any]

MAX_PROMPT_TRIES = 5
#: an answers file is a few lines; anything far bigger is refused unread
MAX_ANSWERS_CHARS = 1_000_000

#: no usable default (distinct from None, which is a fine value for an optional input)
_NONE = object()

# A prompter may also be an object with two more methods, which interactive front-ends use:
# ``begin(step)`` before the step's first question (to say which step asks), and
# ``review(step, [(spec, value)]) -> bool`` to confirm the detected and advanced values at once
# (True: use them; False: ask each one).


def load_answers(path: str | Path) -> dict:
    """Read an answers file (YAML or JSON mapping of input name → value)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"The answers file {path} does not exist.",
                         remediation="Check the path, or run without --answers to be asked.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"The answers file {path} cannot be read: {exc}.",
                         remediation="Give a readable UTF-8 YAML or JSON file.") from None
    if len(text) > MAX_ANSWERS_CHARS:
        raise InputError(f"The answers file {path} is {len(text):,} characters long; an answers "
                         f"file is a few lines (at most {MAX_ANSWERS_CHARS:,} characters).",
                         remediation="Give a file with one 'input_name: value' per line.")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            _refuse_aliases(path, text)
            data = yaml.safe_load(text)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - YAML and JSON raise many kinds
        # the parser's message quotes the offending text: shown shortened, never whole
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 200 else detail[:197] + "..."
        raise InputError(f"The answers file {path} is not valid YAML/JSON: {detail}",
                         remediation="Fix the syntax; each line is 'input_name: value'.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"The answers file {path} must be a mapping of input names to values, "
                         f"not a {type(data).__name__}.",
                         remediation="Write one 'input_name: value' per line.")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _refuse_aliases(path: Path, text: str) -> None:
    """Refuse YAML anchors and aliases before anything is built from them: an answers file has
    no use for them, and nested aliases (a "billion laughs" file) make a few lines expand into
    gigabytes once a value is used. The parser's event stream is read without building values."""
    import yaml

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1
            raise InputError(f"The answers file {path} uses a YAML anchor or alias (line {line}); "
                             "answers files may not.",
                             remediation="Write each value out in full: 'input_name: value'.")


class InputResolver:
    """Resolves the inputs of one step."""

    def __init__(self, step: Step, doc: dict, answers: dict, prompter: Prompter | None,
                 assume_yes: bool):
        self.step = step
        self.doc = doc
        self.answers = answers
        self.prompter = prompter
        self.assume_yes = assume_yes
        #: where each value came from: answers, state, default or prompt (kept with the inputs)
        self.sources: dict[str, str] = {}

    def resolve(self, ctx: Context | None, *, lenient: bool = False) -> dict:
        """Every input of the step, validated. ``lenient`` (explain, verify) never prompts or fails.

        Asking interactively, a question that does not apply here (``InputSpec.applies``) takes
        its default unasked, and ``detected`` and ``advanced`` ones with a usable default are
        gathered into one summary the prompter's ``review`` confirms (see :class:`Prompter`
        below); the learner changes them one by one only when they say so.
        """
        saved = self.doc.get("inputs", {})
        sources = self.doc.get("input_sources") or {}
        # a value that was only a default, saved by an attempt that did not finish, is not a
        # choice: it is worked out again (so --region or AWS_REGION given now is honoured)
        step_done = (self.doc.get("steps", {}).get(self.step.id) or {}).get("status") == "done"
        values: dict[str, Any] = {}
        interactive = self.prompter is not None and not self.assume_yes and not lenient
        review = getattr(self.prompter, "review", None) if interactive else None
        if interactive and hasattr(self.prompter, "begin"):
            self.prompter.begin(self.step)
        held: list[InputSpec] = []
        for spec in self.step.input_specs():
            ctx_view = ctx
            if ctx_view is not None:
                ctx_view.inputs = {**ctx_view.inputs, **values}
            defaulted = sources.get(spec.name) == "default" and not step_done
            if spec.name in self.answers:
                raw, source = self.answers[spec.name], "answers"
            elif spec.name in saved and not spec.secret and not defaulted:
                raw, source = saved[spec.name], sources.get(spec.name, "state")
            else:
                raw, source = None, "default"
            self.sources[spec.name] = source
            if lenient:
                value = raw if raw is not None else self._safe_default(spec, ctx_view)
                if spec.secret and value is not None and not isinstance(value, Secret):
                    value = Secret(str(value))
                values[spec.name] = value
                continue
            if interactive and raw is None and ctx_view is not None:
                quiet = not spec.applies_to(ctx_view)
                if quiet or (review is not None and spec.level in ("detected", "advanced")):
                    found = self._default_unasked(spec, ctx_view)
                    if found is not _NONE:
                        values[spec.name] = found
                        if not quiet:
                            held.append(spec)
                        continue
            values[spec.name] = self._resolve_one(spec, raw, source, ctx_view)
        if held and not review(self.step, [(spec, values[spec.name]) for spec in held]):
            for spec in held:  # "change some": each one, its default worked out again
                ctx.inputs = {**ctx.inputs, **values}
                values[spec.name] = self._ask(spec, self._default_unasked(spec, ctx, raw=True), ctx)
        return values

    def _default_unasked(self, spec: InputSpec, ctx: Context, raw: bool = False):
        """The validated default of a question not asked on its own; ``_NONE`` when there is no
        usable one (it is then asked as usual). ``raw``: the default itself, None when unknown."""
        try:
            default = spec.default_for(ctx)
        except Exception:  # noqa: BLE001 - a default that needs a service: ask instead
            return None if raw else _NONE
        if raw:
            return default
        if default is None or default == "" or default == []:
            return _NONE if spec.required else (default if default == [] else None)
        try:
            return self._validate(spec, default, ctx)
        except InputError:
            return _NONE

    @staticmethod
    def _safe_default(spec: InputSpec, ctx):
        try:
            return spec.default_for(ctx) if ctx is not None or not callable(spec.default) else None
        except Exception:  # noqa: BLE001 - a default that needs a service is unknown in explain
            return None

    def _resolve_one(self, spec: InputSpec, raw, source: str, ctx) -> Any:
        interactive = self.prompter is not None and not self.assume_yes
        if raw is None:
            default = spec.default_for(ctx) if ctx is not None else None
            if interactive:
                return self._ask(spec, default, ctx)
            raw = default
        if raw is None or raw == "":
            if not spec.required:
                return None
            if interactive:
                return self._ask(spec, None, ctx)
            raise InputError(
                f"Step '{self.step.id}' needs '{spec.name}' ({spec.prompt}).",
                remediation=f"Give it in an answers file ('{spec.name}: <value>') with --answers "
                "FILE, or run interactively without --yes." + (f" {spec.help}" if spec.help else ""),
                field=spec.name)
        try:
            return self._validate(spec, raw, ctx)
        except InputError as exc:
            if interactive and source == "state":
                return self._ask(spec, None, ctx, error=exc.message)
            where = "in the answers file" if source == "answers" else \
                "saved from an earlier run" if source == "state" else "as the default"
            raise InputError(f"'{spec.name}' {where} is not valid: {exc.message}",
                             remediation=exc.remediation, field=spec.name) from None

    def _validate(self, spec: InputSpec, raw, ctx):
        value = raw.reveal() if isinstance(raw, Secret) else raw
        if spec.validate is not None:
            value = spec.validate(value, ctx)
        if spec.secret and not isinstance(value, Secret) and value is not None:
            value = Secret(str(value))
        return value

    def _ask(self, spec: InputSpec, default, ctx, error: str | None = None):
        self.sources[spec.name] = "prompt"
        for _ in range(MAX_PROMPT_TRIES):
            raw = self.prompter(spec, default, error)
            if (raw is None or raw == "") and not spec.required:
                return None
            try:
                if raw is None or raw == "":
                    raise InputError("a value is required.", field=spec.name)
                return self._validate(spec, raw, ctx)
            except InputError as exc:
                error = f"{exc.message} {exc.remediation}".strip()
        raise InputError(f"No valid value for '{spec.name}' after {MAX_PROMPT_TRIES} tries.",
                         remediation=spec.help or "Check the value and run again.", field=spec.name)

    def remember(self, values: dict) -> None:
        """Keep the non-secret inputs in state, so a resumed run does not ask again."""
        saved = self.doc.setdefault("inputs", {})
        sources = self.doc.setdefault("input_sources", {})
        for spec in self.step.input_specs():
            if spec.secret or not spec.remember:
                continue
            value = values.get(spec.name)
            if value is not None:
                saved[spec.name] = value
                sources[spec.name] = self.sources.get(spec.name, "state")
