"""Snapshot tests (pytest-textual-snapshot) of the main screen, the monitoring view and the endpoint
test view, at 80×24 and 120×40.

The data is fixed: a state document with set durations, the graph/resources/digits shapes from
tests/tui/tui_steps.py, no clocks and no random ids on screen. Cursor blink is off. Update the
snapshots with ``pytest tests/tui --snapshot-update`` after a deliberate change of the layout.
"""

from __future__ import annotations

import pytest

from tui_steps import GRAPH, RESOURCES, digits_data
from wizard.state import StateStore
from wizard.tui.app import LabwizApp
from wizard.tui.messages import ShowData

SIZES = [(80, 24), (120, 40)]


def _app(tui_env) -> LabwizApp:
    """The app over a lab where 'prepare' is done and 'train' failed once."""
    store = StateStore(tui_env["state_dir"])
    doc = store.load()
    doc["inputs"] = {"bucket": "lab-bucket"}
    doc["steps"] = {
        "prepare": {"status": "done", "attempts": 1, "duration_s": 1.5, "outputs": {"bucket": "lab-bucket"}},
        "train": {"status": "failed", "attempts": 1, "duration_s": 42.0,
                  "error": {"type": "StepError", "message": "the training job failed",
                            "remediation": "Ask for a higher quota."}},
    }
    store.save(doc)
    tui_env["work"].mkdir(parents=True, exist_ok=True)
    (tui_env["work"] / "lab-bucket").mkdir()
    return LabwizApp(tui_env["obj"], blink=False)


async def _resume(pilot) -> None:
    """Dismiss the resume dialog (carry on)."""
    await pilot.pause()
    await pilot.press("escape")  # the resume dialog: carry on where the lab stands
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, tui_env, size):
    """Main screen."""
    assert snap_compare(_app(tui_env), terminal_size=size, run_before=_resume)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_resume_dialog(snap_compare, tui_env, size):
    """Resume dialog."""
    async def settle(pilot):
        """Let the first screen settle."""
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitoring_view(snap_compare, tui_env, size):
    """Monitoring view."""
    async def show(pilot):
        """Send fixed data, then show its tab."""
        await _resume(pilot)
        pilot.app.post_message(ShowData("train", "graph", GRAPH))
        pilot.app.post_message(ShowData("train", "resources", RESOURCES))
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_endpoint_view(snap_compare, tui_env, size):
    """Endpoint view."""
    async def show(pilot):
        """Send fixed data, then show its tab."""
        await _resume(pilot)
        pilot.app.post_message(ShowData("predict", "digits", digits_data()))
        await pilot.press("6")
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=size, run_before=show)


#: a real lab's pipeline mid-run: ten tasks, the tuning job done, training at work
LAB_GRAPH = {"run": {"name": "mnist-kmeans-d0a2f871-1", "id": "9e93853e-768f", "state": "RUNNING",
                     "elapsed_s": 52.0},
             "tasks": [{"name": n, "state": s, "depends_on": d} for n, s, d in [
                 ("plan", "SUCCEEDED", []), ("processing", "SUCCEEDED", ["plan"]),
                 ("tuning", "SUCCEEDED", ["plan", "processing"]),
                 ("best-hyperparameters", "SUCCEEDED", ["plan", "tuning"]),
                 ("training", "RUNNING", ["best-hyperparameters", "plan"]),
                 ("model-container", "PENDING", []), ("model", "PENDING", ["model-container", "plan"]),
                 ("endpoint-config", "PENDING", ["model", "plan"]),
                 ("batch-transform", "PENDING", ["model", "plan"]),
                 ("endpoint", "PENDING", ["endpoint-config", "plan"])]]}
LAB_RESOURCES = [
    {"kind": "ProcessingJob", "name": "mnist-proc-9e93853e76", "status": "Completed",
     "secondary": "", "failure": "", "elapsed_s": 5.0, "log_tail": ["[sandbox] uploaded 3 file(s)"],
     "conditions": [{"type": "ACK.ResourceSynced", "status": "True",
                     "message": "ProcessingJob is in Completed status."}]},
    {"kind": "HyperParameterTuningJob", "name": "mnist-hpo-9e93853e76", "status": "Completed",
     "secondary": "", "failure": "", "elapsed_s": 10.0,
     "children": [{"name": "mnist-hpo-9e93853e76-002-58b43ec1", "status": "Completed",
                   "best": True, "objective": 10.68, "log_tail": ["[INFO] Fitted 10 centroids"]}]},
    {"kind": "TrainingJob", "name": "mnist-train-9e93853e76", "status": "InProgress",
     "secondary": "Training", "failure": "", "elapsed_s": 8.0,
     "conditions": [{"type": "ACK.ResourceSynced", "status": "False",
                     "message": "TrainingJob is in InProgress status."}],
     "log_tail": ["Downloading channel 'test'", "[INFO] Training on 1197 records of dimension 784",
                  "[INFO] Fitted 10 centroids in 7.81s"]},
]
#: SageMaker's own words for a failed training job, as the step's error carries them
FAILURE = ("The pipeline run 9e93853e-768f ended FAILED.\n"
           "TrainingJob mnist-train-9e93853e76: ClientError: An error occurred "
           "(ResourceLimitExceeded) when calling the CreateTrainingJob operation: The account-level "
           "service limit 'ml.m5.xlarge for training job usage' is 0 Instances, with current "
           "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service "
           "Quotas to request an increase for this quota.")


def test_monitor_tab_mid_run_80x24(snap_compare, tui_env):
    """A real lab's run mid-way at 80×24: every task's state, the running training job's status,
    elapsed time and log tail, without scrolling."""
    async def show(pilot):
        """Send the mid-run views, then show the Monitor tab."""
        await _resume(pilot)
        pilot.app.post_message(ShowData("train", "graph", LAB_GRAPH))
        pilot.app.post_message(ShowData("train", "resources", LAB_RESOURCES))
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=(80, 24), run_before=show)


def test_cleanup_confirmation_80x24(snap_compare, tui_env):
    """The cleanup question at 80×24: its own buttons, no letter key, the keys it takes said."""
    from wizard.tui.dialogs import ConfirmDialog

    async def ask(pilot):
        """Ask as the cleanup step does."""
        await _resume(pilot)
        pilot.app.push_screen(ConfirmDialog("Delete these 33 resource(s)? This cannot be undone."))
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=(80, 24), run_before=ask)


def test_run_failure_dialog_80x24(snap_compare, tui_env):
    """A failed run's dialog at 80×24: SageMaker's message, and the hint that it scrolls."""
    from wizard.tui.dialogs import ErrorDialog

    async def fail(pilot):
        """Open the dialog a failed 'Run monitoring' opens."""
        await _resume(pilot)
        pilot.app.push_screen(ErrorDialog(
            "Step 'Run monitoring' failed", FAILURE,
            "Fix the cause, then 'labwiz reset --to run-monitoring' and run again.",
            "labwiz --state-dir /tmp/lab run --sandbox --only run-monitoring"))
        await pilot.pause()

    assert snap_compare(_app(tui_env), terminal_size=(80, 24), run_before=fail)
