"""Pilot tests of the TUI's event flow with the lab's real steps against the offline sandbox.

One sandbox serves the module (the fixtures of tests/steps/conftest.py); each test gets a fresh lab
attached to it. The app is the real one with ``--sandbox``: it resolves the target, prefills the
forms from the sandbox, runs the real steps through the runner, and the state file, the sandbox's
AWS account and its cluster are the witnesses of what happened. Failures come from the sandbox's
own fault injection (``labwiz sandbox fail``) or from bad input typed in the form.
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, RichLog, Static

import tests.steps.conftest as steps_conftest
from tests.steps.conftest import run_lab
from tui_helpers import click, dialog_up, static_text, wait_for
from wizard.sandbox import faults
from wizard.tui.app import LabwizApp
from wizard.tui.dialogs import ConfirmDialog, ErrorDialog, ResumeDialog

# the steps' tests' fixtures, reused: one sandbox for the module, a fresh lab attached per test
sandbox_home, sandbox_info = steps_conftest.sandbox_home, steps_conftest.sandbox_info
lab, aws = steps_conftest.lab, steps_conftest.aws

pytestmark = pytest.mark.timeout(300)

#: how long the first connection to the sandbox may take (imports boto3 and the kube client)
CONNECT = 90
#: how long a real step may take on a busy 2-core machine
STEP = 120


@pytest.fixture
def sandbox_obj(lab, monkeypatch) -> dict:
    """The CLI's ``obj`` for ``labwiz --state-dir LAB --sandbox`` with the real lab steps; the
    host's AWS, Kubernetes and labwiz settings are kept out."""
    for name in ("LABWIZ_STEPS", "LABWIZ_TEST_WORKDIR", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "KUBECONFIG", "KF_PIPELINES_ENDPOINT", "LABWIZ_STATE_DIR", "LABWIZ_ANSWERS",
                 "NO_COLOR", "FORCE_COLOR", "TEXTUAL", "TEXTUAL_THEME", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    return {"state_dir": lab, "state_dir_given": True, "sandbox": True, "plain": False,
            "verbose": False}


@pytest.fixture
def fault(sandbox_home):
    """Set sandbox faults for one test (as ``labwiz sandbox fail`` does); cleared afterwards so
    the module's other tests see a healthy sandbox."""
    data_dir = sandbox_home / "sandbox"

    def set_faults(*specs: str) -> None:
        """Replace the faults in force (none: clear them)."""
        faults.write(data_dir, [faults.parse(s) for s in specs])

    yield set_faults
    faults.write(data_dir, [])


def _doc(lab) -> dict:
    """The lab's state document on disk."""
    return json.loads((lab / "state.json").read_text())


def _status(lab) -> dict:
    """Each step's status on disk."""
    if not (lab / "state.json").exists():
        return {}
    return {k: v["status"] for k, v in _doc(lab)["steps"].items()}


def _text(widget: Static) -> str:
    """What a Static shows, as plain text."""
    return static_text(widget, width=200)


def _log(app) -> str:
    """The live log's text."""
    return app.main.query_one("#log", RichLog).plain_text


async def _connected(pilot, app) -> None:
    """Wait until the app reached the sandbox and filled the current step's form."""
    await wait_for(pilot, lambda: app.target is not None, CONNECT)
    # the form shows the current step (not the one shown before a resume), and the step's
    # details (its prefilled values) have arrived
    await wait_for(pilot, lambda: app.main.query_one("#form").ready
                   and app.main.query_one("#form").step_id == app.current
                   and app.current in app.planned, CONNECT)


async def _until(pilot, app, condition, timeout: float = STEP) -> list[str]:
    """Let the app run until ``condition()``, answering Yes to every confirmation on the way
    (the labs of this module share one cluster, so a step may ask before it re-annotates the
    service account another lab annotated); return the questions asked."""
    import asyncio

    asked: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if dialog_up(app, ConfirmDialog):
            asked.append(app.screen.question)
            await click(pilot, "#yes")
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (asked: {asked}; busy: "
                                 f"{app.busy}; screen: {type(app.screen).__name__} {getattr(app.screen, 'spec', '')} {getattr(app.screen, 'error', '')}; log: "
                                 f"{_log(app)[-1500:] if app.main.panes_built else '(not built)'})")
        await pilot.pause(0.05)
    return asked


async def _run_to_done(pilot, app, lab, step_id: str) -> None:
    """Press r on ``step_id`` and wait until it is done on disk."""
    assert app.current == step_id
    await pilot.press("r")
    await _until(pilot, app, lambda: app.busy is None and _status(lab).get(step_id) == "done")


async def test_credentials_from_the_form_to_done(sandbox_obj, lab, aws, sandbox_info):
    """start → input → run → done: the form is prefilled from the sandbox, a malformed value is
    refused in the form, and the corrected form runs the real credentials step."""
    app = LabwizApp(sandbox_obj, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _connected(pilot, app)
        assert app.current == "credentials"
        header = app.main.query_one("#target").target
        assert header.startswith("sandbox · eu-west-1 · kf-sm-workshop")
        namespace = app.main.query_one("#in-namespace", Input)
        await wait_for(pilot, lambda: namespace.value == "kubeflow-user-example-com", CONNECT)
        assert app.main.query_one("#in-region", Input).value == sandbox_info["region"]
        await pilot.press("2")  # the Inputs tab
        namespace.value = "Kube Flow"
        app.main.query_one("#run-step").press()
        error = app.main.query_one("#err-namespace", Static)
        await wait_for(pilot, lambda: "not a valid Kubernetes namespace name" in _text(error))
        assert "credentials" not in _status(lab)  # nothing ran
        namespace.value = "kubeflow-user-example-com"
        app.main.query_one("#run-step").press()
        await _until(pilot, app, lambda: app.busy is None and _status(lab).get("credentials") == "done")
        # the live log narrated the real work and its equivalent commands
        # the log stays on show (the focused field of the form does not pull its tab back)
        assert app.main.active_tab() == "log"
        log_text = _log(app)
        assert "$ aws sts get-caller-identity" in log_text and "Credentials: done." in log_text
        assert app.current == "data-upload"
    doc = _doc(lab)
    outputs = doc["steps"]["credentials"]["outputs"]
    assert doc["inputs"]["namespace"] == "kubeflow-user-example-com"
    # the default: the pods get no AWS access (the ACK controller's role calls SageMaker)
    assert outputs["access_mode"] == "none" and outputs["pod_role_arn"] is None
    role = outputs["execution_role_arn"].split("/")[-1]
    assert aws("iam").get_role(RoleName=role)["Role"]["Arn"] == outputs["execution_role_arn"]
    assert any(row["kind"] == "iam-role" and row["name"] == role for row in doc["ledger"])
    assert "sts get-caller-identity" in (lab / "commands" / "credentials.sh").read_text()


async def test_failing_step_error_dialog_then_retry_succeeds(sandbox_obj, lab, aws, fault):
    """A failing real step (S3 denies the lab bucket) opens the error dialog with the message,
    what to do and the command to reproduce; once the cause is gone, Retry succeeds."""
    app = LabwizApp(sandbox_obj, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _connected(pilot, app)
        await _run_to_done(pilot, app, lab, "credentials")
        fault("s3=AccessDenied")
        await wait_for(pilot, lambda: app.main.query_one("#form").ready
                       and app.main.query_one("#form").step_id == "data-upload")
        await pilot.press("r")
        await _until(pilot, app, lambda: isinstance(app.screen, ErrorDialog)
                     and getattr(app.focused, "id", None) == "retry")  # up and answering keys
        dialog = app.screen
        bucket = _doc(lab)["inputs"]["bucket"]
        assert dialog.title_text == "Step 'Data upload' failed"
        # the sandbox's S3 AccessDenied fault: reported as access denied, with what to check
        assert bucket in dialog.message and "was denied" in dialog.message
        assert "another account" not in dialog.message
        assert f"s3:ListBucket on arn:aws:s3:::{bucket}" in dialog.remediation
        assert dialog.reproduce == f"labwiz --state-dir {lab} run --sandbox --only data-upload"
        # the dialog shows all three
        shown = " ".join(_text(dialog.query_one(f"#{part}", Static))
                         for part in ("error-message", "error-remediation", "error-reproduce"))
        assert "What to do:" in shown and "To reproduce:" in shown and "--only data-upload" in shown
        record = _doc(lab)["steps"]["data-upload"]
        assert record["status"] == "failed" and bucket in record["error"]["message"]
        fault()  # the fix: S3 allows the bucket again
        await click(pilot, "#retry")
        await _until(pilot, app, lambda: app.busy is None and _status(lab).get("data-upload") == "done")
        assert not isinstance(app.screen, ErrorDialog)
        # leave once the next step's form is mounted (its Select cannot be torn down mid-mount)
        await wait_for(pilot, lambda: app.current == "crd-selection"
                       and app.main.query_one("#form").ready
                       and app.main.query_one("#form").step_id == "crd-selection")
    record = _doc(lab)["steps"]["data-upload"]
    assert record["attempts"] == 2 and not record.get("error")
    uri = record["outputs"]["data_uri"].removeprefix("s3://")
    aws("s3").head_object(Bucket=uri.split("/", 1)[0], Key=uri.split("/", 1)[1])


async def test_resume_dialog_on_real_state(sandbox_obj, lab):
    """A lab started headless: the TUI's resume dialog says where it stands; Resume carries on
    with the next real step; a later start over keeps the ledger."""
    result = run_lab(lab, "--only", "credentials")
    assert result.returncode == 0, result.stdout + result.stderr
    created = len(_doc(lab)["ledger"])
    app = LabwizApp(sandbox_obj, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        summary = _text(app.screen.query_one("#resume-summary", Static))
        assert "1 of 9 steps are done" in summary and "Next: Data upload." in summary
        assert f"{created} resource(s) created so far are recorded for cleanup" in summary
        await click(pilot, "#resume")
        await _connected(pilot, app)
        await _run_to_done(pilot, app, lab, "data-upload")
        assert app.current == "crd-selection"
    assert _status(lab)["credentials"] == "done" and _status(lab)["data-upload"] == "done"
    app = LabwizApp(sandbox_obj, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        assert "2 of 9 steps are done" in _text(app.screen.query_one("#resume-summary", Static))
        await click(pilot, "#over")
        await wait_for(pilot, lambda: app.busy is None and _status(lab).get("credentials") == "pending",
                       STEP)
        assert app.current == "credentials"
        # leave once the form shows the step: quitting while a Select is being mounted fails in
        # Textual's Select (its overlay is already gone), and the tabs are filled after the start
        await wait_for(pilot, lambda: app.main.query_one("#form").ready
                       and app.main.query_one("#form").step_id == "credentials", STEP)
    assert set(_status(lab).values()) == {"pending"}
    assert len(_doc(lab)["ledger"]) >= created  # start over keeps the record of what was created


async def test_demo_from_a_later_step_catches_up_on_the_sandbox(sandbox_obj, lab):
    """`labwiz demo --from data-upload` on a fresh lab: credentials runs first without a pause or
    a key press, then the countdown waits before data-upload (test_tui_autopilot.py shows n
    running the step the countdown waits for)."""
    app = LabwizApp(sandbox_obj, autopilot={"pause": 600, "from_step": "data-upload"}, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.main.query_one("#autopilot", Static)
        await wait_for(pilot, lambda: "'Data upload' starts in" in str(bar.content), STEP)
        assert "The demo starts at 'Data upload'" in _log(app)
        assert app.current == "data-upload"
    assert _status(lab)["credentials"] == "done"
    assert _status(lab).get("data-upload", "pending") == "pending"
    assert _doc(lab)["steps"]["credentials"]["outputs"]["access_mode"] == "none"


async def test_declining_cleanup_in_the_tui_is_a_choice(sandbox_obj, lab, aws):
    """Cleanup's plan, then No: the step is declined (not failed, no error dialog), the log says
    what remains and the command that cleans up later, and the roles the lab made still exist."""
    earlier = "data-upload,crd-selection,component-generation,compile,upload,run-monitoring," \
        "endpoint-test,cleanup"
    result = run_lab(lab, "--skip", earlier)
    assert result.returncode == 0, result.stdout + result.stderr
    roles = {r["name"] for r in _doc(lab)["ledger"] if r["kind"] == "iam-role"}
    assert roles
    app = LabwizApp(sandbox_obj, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        await click(pilot, "#resume")
        await wait_for(pilot, lambda: app.target is not None, CONNECT)
        app.select("cleanup")
        await pilot.pause()
        await pilot.press("r")
        await wait_for(pilot, lambda: dialog_up(app, ConfirmDialog), STEP)
        assert app.screen.question.startswith("Delete these")
        # Escape says no (a click may land before the buttons are laid out on a loaded machine)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.busy is None and _status(lab).get("cleanup") == "skipped",
                       STEP)
        await pilot.pause()
        assert not isinstance(app.screen, ErrorDialog)
        log = _log(app)
        assert "Cleanup: declined (your choice)" in log and "nothing was deleted" in log
        assert f"labwiz --state-dir {lab} run --sandbox --only cleanup" in " ".join(log.split())
    record = _doc(lab)["steps"]["cleanup"]
    assert record["declined"] and "error" not in record
    assert roles <= {r["RoleName"] for r in aws("iam").list_roles()["Roles"]}


async def test_monitor_tab_shows_a_run_that_finished_before(sandbox_obj, lab):
    """A lab whose run finished in an earlier session (headless, say): the Monitor tab shows that
    run's final state as the state file records it, not "no pipeline run yet"."""
    from wizard.registry import load_steps
    from wizard.state import StateStore

    store = StateStore(lab)
    doc = store.load()
    for step in load_steps()[:7]:
        doc["steps"][step.id] = {"status": "done", "attempts": 1, "duration_s": 1.0}
    doc["steps"]["run-monitoring"]["outputs"] = {
        "run_id": "0f0c90b5-3e2a-4c1b-9a55-5d1f3c1e0a11", "run_state": "SUCCEEDED",
        "tasks": [{"name": "processing", "state": "SUCCEEDED", "depends_on": []},
                  {"name": "training", "state": "SUCCEEDED", "depends_on": ["processing"]}],
        "resources": [{"kind": "ProcessingJob", "name": "mnist-proc-0f0c90b530",
                       "status": "Completed"},
                      {"kind": "Endpoint", "name": "mnist-ep-0f0c90b530", "status": "InService"}]}
    store.save(doc)
    app = LabwizApp(sandbox_obj, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        await click(pilot, "#resume")
        await pilot.pause()
        monitor = app.main.query_one("#monitor")
        graph = _text(monitor.query_one("#graph", Static))
        resources = _text(monitor.query_one("#resources", Static))
        assert "No pipeline run yet" not in graph
        assert "0f0c90b5-3e2a-4c1b-9a55-5d1f3c1e0a11" in graph and "SUCCEEDED" in graph
        assert "processing" in graph and "training" in graph
        assert "mnist-ep-0f0c90b530" in resources and "InService" in resources
        assert "finished run" in _text(monitor.query_one("#graph-title", Static))


async def test_doctor_after_cleanup_reports_removed_not_failed(sandbox_obj, lab):
    """A lab cleaned up after its first steps: the TUI's doctor reports what cleanup removed as
    removed (0 failed), its header count says how many."""
    from wizard.tui.dialogs import InfoDialog

    made = run_lab(lab, "--only", "credentials,data-upload")
    assert made.returncode == 0, made.stdout + made.stderr
    cleaned = run_lab(lab, "--only", "cleanup")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    app = LabwizApp(sandbox_obj, blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: dialog_up(app, ResumeDialog))
        await click(pilot, "#resume")
        await wait_for(pilot, lambda: app.target is not None, CONNECT)
        await pilot.press("d")
        await wait_for(pilot, lambda: dialog_up(app, InfoDialog), STEP)
        body = app.screen.body
        import io

        from rich.console import Console

        console = Console(width=160, file=io.StringIO(), record=True, color_system=None)
        console.print(body)
        text = console.export_text()
    head = text.strip().splitlines()[0]
    assert " 0 failed" in head, head
    assert "removed by the lab's cleanup" in head
    assert "Removed by the lab's cleanup: iam-role labwiz-sagemaker-execution-" in \
        " ".join(text.split())
    results = json.loads((lab / "doctor.json").read_text())["results"]
    assert not [r["name"] for r in results if r["status"] == "fail"]
