"""Deciding whether to repair a resource that exists but is wrong.

The credentials step finds resources it did not just create that are not as the lab needs them:
a role whose trust policy misses the principal or names another service account, an annotation
naming another role, a secret holding another key. The issue's rule is "repaired after
confirmation, or reported when it cannot be". The answer comes from, in order:

* the ``repair`` input (``yes`` / ``no`` / ``ask``), so an answers file can decide without a
  terminal and without ``--yes`` (and ``no`` keeps even ``--yes`` from changing such resources);
  it holds for one run only (not kept in state): a repair is a decision, not a setting;
* otherwise the step protocol's own question, :meth:`wizard.protocol.Context.confirm`, which the
  TUI and the plain prompts ask and ``--yes`` answers with yes.

A refusal is never silent: callers raise an error that quotes the command that fixes it by hand.
"""

from __future__ import annotations

from wizard.protocol import Context, InputSpec

REPAIR_INPUT = "repair"
CHOICES = ("ask", "yes", "no")


def repair_spec() -> InputSpec:
    """The ``repair`` input the credentials step offers (default ``ask``)."""
    return InputSpec(
        REPAIR_INPUT, "When a resource that exists is wrong (e.g. a trust policy naming another "
        "service account)", default="ask", choices=list(CHOICES), kind="choice",
        validate=lambda value, _ctx: repair_answer(value), remember=False, level="advanced",
        help="ask: ask each time (--yes answers yes); yes: repair it; no: stop and show the "
        "command that repairs it.")


def repair_answer(value) -> str:
    """``yes`` / ``no`` / ``ask`` from an answer; YAML reads a bare yes/no as a boolean."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    from wizard import validate

    return validate.choice(*CHOICES)(value, None)


def confirm_repair(ctx: Context, question: str) -> bool:
    """Whether to repair: the ``repair`` answer when it is yes or no, else ask through ``ctx``."""
    value = ctx.input(REPAIR_INPUT)
    answer = repair_answer(value) if value not in (None, "") else "ask"
    if answer == "yes":
        return True
    if answer == "no":
        return False
    return ctx.confirm(question)


HOW_TO_ALLOW = ("Answer the question with yes, put 'repair: yes' in the answers file, or run with "
                "--yes; or fix it yourself: ")
