"""The blocking calls the TUI makes, each run in a thread worker (never on the event loop).

Nothing here touches a widget: results go back as return values (the app's central worker handler
receives them) and live narration goes through the reporter the app passes in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from wizard.errors import InputError, LabwizError
from wizard.protocol import Context, Step


class FormInvalid(LabwizError):
    """Some fields of the inputs form did not validate; ``errors`` maps field name → message."""

    def __init__(self, step_id: str, errors: dict[str, str]):
        """Keep the step and the per-field errors."""
        names = ", ".join(errors)
        super().__init__(f"Some inputs of this step are not valid: {names}.",
                         remediation="Correct the fields marked in red on the Inputs tab, then run again.")
        self.step_id = step_id
        self.errors = errors


def explain_context(state_dir: Path, doc: dict, target, inputs: dict | None = None) -> Context:
    """A context for defaults, validation and equivalent commands: it changes nothing."""
    from wizard.ledger import Ledger

    return Context(state_dir=state_dir, doc=doc, ledger=Ledger(doc, lambda: None), target=target,
                   inputs=dict(inputs or {}), confirm=lambda _q: False, assume_yes=True, explain=True)


def resolve_target(state_dir: Path, sandbox: bool):
    """The target (starting or reusing the sandbox when asked): can take a while."""
    from wizard.target import resolve_target as resolve

    return resolve(state_dir, sandbox=sandbox)


def prefill(step: Step, doc: dict, target, state_dir: Path) -> dict[str, Any]:
    """Values to show in the step's form: saved inputs first, else the input's default.

    Secrets are never prefilled (they are never saved). A default that needs a service that is
    not reachable yet is left empty rather than failing the view.
    """
    saved = doc.get("inputs", {})
    ctx = explain_context(state_dir, doc, target)
    values: dict[str, Any] = {}
    for spec in step.input_specs():
        if spec.secret:
            values[spec.name] = None
            continue
        if spec.name in saved:
            values[spec.name] = saved[spec.name]
            continue
        try:
            values[spec.name] = spec.default_for(ctx)
        except Exception:  # noqa: BLE001 - an unknown default shows as an empty field
            values[spec.name] = None
        ctx.inputs[spec.name] = values[spec.name]
    return values


def planned_commands(step: Step, doc: dict, target, state_dir: Path) -> tuple[list[str], Path]:
    """The step's equivalent commands, also written to ``<state>/commands/<step>.plan.sh``."""
    from wizard.inputs import InputResolver
    from wizard.paths import ensure_private_dir
    from wizard.secrets import redact
    from wizard.tui.model import commands_paths

    inputs = InputResolver(step, doc, {}, None, True).resolve(None, lenient=True)
    try:
        lines = [redact(c.shell()) for c in step.commands(explain_context(state_dir, doc, target, inputs))]
    except Exception as exc:  # noqa: BLE001 - a step that cannot explain itself still shows
        lines = [f"# the commands cannot be worked out yet: {redact(str(exc))}"]
    plan, _ = commands_paths(state_dir, step.id)
    ensure_private_dir(plan.parent)
    plan.write_text(f"# {step.id}: equivalent commands (planned)\n" + "\n".join(lines) + "\n",
                    encoding="utf-8")
    return lines, plan


def validate_form(step: Step, values: dict, doc: dict, target, state_dir: Path) -> dict:
    """Check every filled field with its ``InputSpec.validate``; return the answers to run with.

    Empty required fields are left out so the runner asks for them (through a dialog); empty
    optional ones are passed as ``""``, which the runner takes as "none" without asking again. Raises :class:`FormInvalid` naming each bad field and why.
    """
    from wizard.secrets import Secret

    ctx = explain_context(state_dir, doc, target)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in step.input_specs():
        raw = values.get(spec.name)
        if raw is None or raw == "" or raw == []:
            if not spec.required:
                answers[spec.name] = ""  # the form was the question: an empty field means none
            continue
        try:
            checked = spec.validate(raw, ctx) if spec.validate else raw
        except InputError as exc:
            errors[spec.name] = f"{exc.message} {exc.remediation}".strip()
            continue
        ctx.inputs[spec.name] = checked
        # the runner validates again; it gets the raw value so its own rules apply unchanged
        answers[spec.name] = Secret(str(raw)) if spec.secret and not isinstance(raw, Secret) else raw
    if errors:
        raise FormInvalid(step.id, errors)
    return answers


def make_runner(state_dir: Path, steps: list[Step], target, reporter, *, answers: dict,
                prompter: Callable | None, confirm: Callable[[str], bool], assume_yes: bool,
                resume_command: str, on_state: Callable[[dict], None]):
    """A runner wired to the TUI (one per action: it is cheap and holds no open resources)."""
    from wizard.engine import Runner

    return Runner(state_dir, steps, target=target, reporter=reporter, answers=answers,
                  prompter=prompter, confirm=confirm, assume_yes=assume_yes,
                  resume_command=resume_command, on_state=on_state)
