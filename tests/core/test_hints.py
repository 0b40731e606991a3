"""Hints that name a labwiz command carry the run's --state-dir and flags (wizard/hints.py)."""

from __future__ import annotations

from tests.conftest import run_labwiz
from wizard.hints import carry, flags_of

RESUME = "labwiz --state-dir /tmp/my-lab run --sandbox --region eu-west-1 --only cleanup"


def test_flags_of_a_resume_command_leave_the_step_choices_out():
    """Global options and run flags; --only/--skip/--from belong to each hint."""
    assert flags_of(RESUME) == (["--state-dir", "/tmp/my-lab"], ["--sandbox", "--region", "eu-west-1"])
    assert flags_of("labwiz run") == ([], [])
    assert flags_of("not a labwiz command") == ([], [])


def test_every_labwiz_command_in_a_hint_gets_the_runs_options():
    """run gets the state directory and the run's flags, other commands the state directory;
    an option the hint already gives is not added twice; other text is left alone."""
    assert carry("Run 'labwiz run --only cleanup' again and confirm.", RESUME) == \
        ("Run 'labwiz --state-dir /tmp/my-lab run --sandbox --region eu-west-1 --only cleanup' "
         "again and confirm.")
    assert carry("'labwiz doctor' checks the usual causes; then 'labwiz run'.", RESUME) == \
        ("'labwiz --state-dir /tmp/my-lab doctor' checks the usual causes; then "
         "'labwiz --state-dir /tmp/my-lab run --sandbox --region eu-west-1'.")
    given = carry("Run 'labwiz --state-dir /x run --sandbox' to resume.", RESUME)
    assert given.count("--sandbox") == 1 and given.count("--state-dir") == 1 and "/x" in given
    assert carry("the labwiz lab", RESUME) == "the labwiz lab"
    assert carry("Run 'labwiz run'.", "labwiz run") == "Run 'labwiz run'."


def test_a_hint_printed_by_the_runner_names_this_lab(tmp_path):
    """The runner's own hints (--from refused, the lab complete) name the state directory the
    learner gave, so they act on this lab and not on the default one."""
    state = tmp_path / "my lab"
    env = {"LABWIZ_STEPS": "tests.core.engine_steps:FINISHING", "LABWIZ_TEST_WORKDIR": str(tmp_path / "w")}
    base = ["--state-dir", str(state), "run", "--yes"]
    refused = run_labwiz(base + ["--from", "delta"], env=env)
    assert refused.returncode == 2
    assert f"Run 'labwiz --state-dir '{state}' run --yes' to resume from 'alpha'" in refused.stderr
    assert run_labwiz(base, env=env).returncode == 0
    again = run_labwiz(base, env=env)
    assert again.returncode == 0
    assert f"Run 'labwiz --state-dir '{state}' reset' to do it again" in " ".join(again.stdout.split())


def test_an_error_before_any_step_names_this_lab_too(tmp_path):
    """An input error the CLI prints (a step name that does not exist) points at this lab."""
    state = tmp_path / "lab"
    env = {"LABWIZ_STEPS": "tests.core.engine_steps:FINISHING", "LABWIZ_TEST_WORKDIR": str(tmp_path / "w")}
    bad = run_labwiz(["--state-dir", str(state), "run", "--yes", "--only", "nope"], env=env)
    assert bad.returncode == 2
    assert f"See 'labwiz --state-dir {state} steps'" in bad.stderr
