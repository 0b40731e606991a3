"""Declining cleanup is a choice: in plain mode (a person answers) a "no" records the step as
declined, says what remains and the command that cleans up later, and the lab exits 0. (Headless
without --yes cannot ask: that stays a failure, see test_endpoint_cleanup_cleanup.py.)"""

from __future__ import annotations

import io
import os

from rich.console import Console

from tests.steps.conftest import run_lab, state


def test_declining_cleanup_in_plain_mode_is_a_choice_not_a_failure(lab, aws):
    """A "no" to cleanup's confirmation: exit 0, the step declined (not failed), the roles the
    lab made still exist (seen through IAM), and the way to clean up later names this lab."""
    from wizard.headless import HeadlessReporter
    from wizard.plain.prompts import Asker
    from wizard.registry import load_steps
    from wizard.session import run_headless
    from wizard.tui.model import reproduce_command

    made = run_lab(lab, "--only", "credentials")
    assert made.returncode == 0, made.stdout + made.stderr
    roles = {r["name"] for r in state(lab)["ledger"] if r["kind"] == "iam-role"}
    assert roles
    asked: list[str] = []

    class Declining(Asker):
        """A learner who answers no to the deletion."""

        def confirm(self, question, default=False):
            asked.append(question)
            return False

    out = io.StringIO()
    steps = load_steps()
    reporter = HeadlessReporter(Console(file=out, width=100, color_system=None), steps=steps,
                                state_dir=lab)
    asker = Declining(fancy=False, announce=reporter.announce)
    obj = {"state_dir": lab, "state_dir_given": True, "sandbox": True, "verbose": False}
    old = {k: os.environ.pop(k, None) for k in ("AWS_PROFILE", "AWS_REGION", "KUBECONFIG")}
    try:
        code = run_headless(obj, sandbox=True, region=None, yes=False, answers=None,
                            resume_command=reproduce_command(obj, None), only="cleanup",
                            prompter=asker, confirm=asker.confirm, reporter=reporter)
    finally:
        for key, value in old.items():
            if value is not None:
                os.environ[key] = value
    text = out.getvalue()
    assert code == 0, text
    assert any(q.startswith("Delete these") for q in asked)
    rec = state(lab)["steps"]["cleanup"]
    assert rec["status"] == "skipped" and rec["declined"] and "error" not in rec
    later = f"labwiz --state-dir {lab} run --sandbox --only cleanup"
    assert later in rec["note"]["remediation"]
    assert "↷ Cleanup declined (your choice)" in text and "nothing was deleted" in text
    summary = text[text.index("Summary"):]
    assert "declined" in summary and later in summary and "✘" not in summary
    assert roles <= {r["RoleName"] for r in aws("iam").list_roles()["Roles"]}  # untouched
