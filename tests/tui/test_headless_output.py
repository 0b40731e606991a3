"""The headless reporter's printed output, driven without a sandbox: step headers and results
from the saved state, monitoring printed as changes only, long tables grouped, commands capped."""

from __future__ import annotations

import copy
import io

from rich.console import Console

from tui_steps import GRAPH, RESOURCES
from wizard.headless import HeadlessReporter
from wizard.protocol import cmd


class _Step:
    """A step as the reporter sees it: id, title, summary."""

    def __init__(self, step_id: str, title: str, summary: str = "") -> None:
        self.id, self.title, self.summary = step_id, title, summary


STEPS = [_Step("prepare", "Prepare", "Make a bucket."), _Step("train", "Train", "Train it.")]


def _reporter(tmp_path, width: int = 100) -> tuple[HeadlessReporter, io.StringIO]:
    """A reporter printing to a string, as in a pipe."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False)
    return HeadlessReporter(console, steps=STEPS, state_dir=tmp_path, live=False), out


def _doc(**statuses) -> dict:
    """A state document with these step statuses (done ones took 1.5 s)."""
    return {"steps": {k: {"status": v, **({"duration_s": 1.5} if v == "done" else {})}
                      for k, v in statuses.items()}}


def test_headers_results_and_summary_follow_the_state(tmp_path):
    """Header when a step starts, its result line when it ends, and the closing summary."""
    reporter, out = _reporter(tmp_path)
    reporter.state_saved(_doc(prepare="running"))
    reporter.log("bucket ready", "success")
    reporter.state_saved(_doc(prepare="done"))
    reporter.state_saved(_doc(prepare="done", train="running"))
    reporter.state_saved(_doc(prepare="done", train="failed"))
    reporter.summary(_doc(prepare="done", train="failed"), ran=["prepare"])
    text = out.getvalue()
    assert text.index("Step 1 of 2 · Prepare") < text.index("Make a bucket.") < \
        text.index("bucket ready") < text.index("✔ Prepare done in 1.5 s") < \
        text.index("Step 2 of 2 · Train") < text.index("✘ Train failed")
    summary = text[text.index("Summary"):]
    assert "Prepare" in summary and "1.5 s" in summary and "failed" in summary
    assert text.count("Step 1 of 2") == 1  # saved again and again, announced once


def test_monitoring_prints_changes_only(tmp_path):
    """The same views polled again print nothing; a new log line or run state prints once."""
    reporter, out = _reporter(tmp_path)
    for _ in range(3):
        reporter.show("graph", GRAPH)
        reporter.show("resources", RESOURCES)
    first = out.getvalue()
    assert first.count("Pipeline (4 tasks)") == 1
    assert first.count("epoch 3/10") == 1 and first.count("wrote train_data.csv") == 1
    assert "┃" not in first and "kind" not in first  # no table redrawn per poll
    later = copy.deepcopy(RESOURCES)
    later[1]["log_tail"] = ["loss 41.2", "epoch 4/10"]  # the tail moved on by one line
    later[1]["conditions"] = [{"type": "ACK.Recoverable", "status": "True",
                               "message": "ThrottlingException: slow down"}]
    graph = copy.deepcopy(GRAPH)
    graph["run"]["state"] = "CANCELING"
    for _ in range(2):
        reporter.show("resources", later)
        reporter.show("graph", graph)
    graph["run"]["state"] = "CANCELED"  # the end: the monitor's own line says it
    reporter.show("graph", graph)
    text = out.getvalue()[len(first):]
    assert text.count("epoch 4/10") == 1 and "loss 41.2" not in text
    assert text.count("ThrottlingException") == 1
    assert text.count("CANCELING") == 1 and "CANCELED" not in text


def test_long_table_grouped_and_commands_capped(tmp_path):
    """33 rows print as a few grouped lines naming every item; alike commands print as one line
    naming what differs, a long one on one line, and the step's end says where all of them are
    whole."""
    reporter, out = _reporter(tmp_path)
    reporter.state_saved(_doc(prepare="running"))
    rows = [["custom-resource", f"trainingjobs/job-{i}", "kubeflow-user-example-com", "ledger"]
            for i in range(20)] + [["iam-role", f"role-{i}", "", "ledger"] for i in range(13)]
    reporter.show("table", {"title": "Cleanup plan", "columns": ["kind", "name", "namespace", "from"],
                            "rows": rows})
    for i in range(8):
        reporter.command(cmd("aws", "iam", "delete-role", "--role-name", f"role-{i}"))
    reporter.log("Deleted 8 roles.")
    reporter.command(cmd("aws", "iam", "put-role-policy", "--policy-document", "x" * 300))
    reporter.state_saved(_doc(prepare="done"))
    text = out.getvalue()
    for row in rows:
        assert row[1] in text
    assert "custom-resource (20" in text and "iam-role (13" in text
    assert "$ aws iam delete-role --role-name role-{0,1,2,3,4,5,6,7}\n" in text
    assert text.count("$ aws iam put-role-policy") == 1
    assert f"its 9 command(s), whole: {tmp_path / 'commands'}/prepare.sh" in text


def test_long_command_cut_to_one_line_unless_verbose(tmp_path):
    """A policy document makes a command several lines long: one line, or whole with verbose."""
    reporter, out = _reporter(tmp_path, width=80)
    reporter.state_saved(_doc(prepare="running"))
    reporter.command(cmd("aws", "iam", "put-role-policy", "--policy-document", "y" * 300))
    reporter.log("Put one policy.")
    reporter.command(cmd("aws", "iam", "put-role-policy", "--role-name", "lab-role",
                         "--policy-document", '{"Statement": [' + "{}, " * 90 + "{}]}"))
    reporter.log("Put the policies.")
    printed = out.getvalue().splitlines()
    assert printed[-4].startswith("$ aws iam put-role-policy --policy-document yyy") and \
        "…" in printed[-4] and len(printed[-4]) <= 80
    # a JSON document gives way first: the names stay whole
    assert printed[-2] == "$ aws iam put-role-policy --role-name lab-role --policy-document '{…}'"
    verbose, vout = _reporter(tmp_path, width=80)
    verbose.verbose = True
    verbose.command(cmd("aws", "iam", "put-role-policy", "--policy-document", "y" * 300))
    assert "y" * 300 in vout.getvalue().replace("\n", "")


def test_alike_long_commands_keep_what_tells_them_apart_at_80_columns(tmp_path):
    """Seven ``labwiz generate --crd <long path>`` commands at 80 columns: alone, each line still
    shows its CRD's kind; together, one line lists the kinds. Every command stays whole in the
    step's commands file, which the step's end names."""
    kinds = ["processingjobs", "hyperparametertuningjobs", "trainingjobs", "models",
             "endpointconfigs", "endpoints", "transformjobs"]
    crds = "/tmp/pytest-of-someone/pytest-123/transcript0/state/crds"
    commands = [cmd("labwiz", "generate", "--crd", f"{crds}/sagemaker.services.k8s.aws_{kind}.yaml",
                    "--out", "/tmp/pytest-of-someone/pytest-123/transcript0/state/components")
                for kind in kinds]
    alone, out = _reporter(tmp_path, width=80)
    alone.state_saved(_doc(prepare="running"))
    for command, kind in zip(commands, kinds):
        alone.command(command)
        alone.log(f"Generated {kind}.")
    lines = [line for line in out.getvalue().splitlines() if line.startswith("$ ")]
    assert len(lines) == 7 and len(set(lines)) == 7
    for line, kind in zip(lines, kinds):
        assert f"{kind}.yaml" in line and len(line) <= 80, line
    together, out = _reporter(tmp_path, width=80)
    together.state_saved(_doc(prepare="running"))
    for command in commands:
        together.command(command)
    together.state_saved(_doc(prepare="done"))
    lines = [line for line in out.getvalue().splitlines() if line.startswith("$ ")]
    assert len(lines) == 1 and len(lines[0]) <= 80
    assert lines[0].startswith("$ labwiz generate --crd …aws_{processingjobs,") and "}.yaml" in lines[0]
    assert "its 7 command(s), whole: " in out.getvalue()


def test_a_burst_of_different_commands_reads_as_one_line(tmp_path):
    """Many different commands with nothing said between them print as one line naming each
    kind of command, alike ones counted."""
    reporter, out = _reporter(tmp_path)
    reporter.state_saved(_doc(prepare="running"))
    reporter.command(cmd("kfp", "--endpoint", "http://127.0.0.1:8888", "run", "delete", "r1"))
    for name in ("a", "b", "c"):
        reporter.command(cmd("kubectl", "delete", f"{name}s.sagemaker.services.k8s.aws", name))
    reporter.command(cmd("aws", "sagemaker", "delete-endpoint", "--endpoint-name", "e"))
    reporter.log("Removed kfp-run r1.", "success")
    reporter.log("Cleanup result: every resource was removed.")
    lines = [line for line in out.getvalue().splitlines() if line.startswith("$ ")]
    assert lines == ["$ kfp run delete …; kubectl delete … ×3; aws sagemaker delete-endpoint …"]


def test_one_resource_lines_fold_and_a_table_of_them_is_not_repeated(tmp_path):
    """Cleanup's line per resource prints as one line per verb and kind, every name kept, and
    the result table that lists them again prints as one line."""
    reporter, out = _reporter(tmp_path)
    reporter.state_saved(_doc(prepare="running"))
    names = [f"trainingjobs/job-{i}" for i in range(7)]
    for name in names:
        reporter.log(f"Removed custom-resource {name}.", "success")
    reporter.log("Already gone: sagemaker-model m1.", "success")
    reporter.log("Already gone: sagemaker-endpoint e1.", "success")
    reporter.log("Could not remove iam-role r1: AccessDenied", "error")
    reporter.show("table", {"title": "Cleanup result", "columns": ["kind", "name", "result"],
                            "rows": [["custom-resource", n, "removed"] for n in names]})
    text = out.getvalue()
    assert "Removed custom-resource (7): " + ", ".join(names) + "." in text
    assert "Already gone: sagemaker-model m1, sagemaker-endpoint e1." in text
    assert "Could not remove iam-role r1: AccessDenied" in text  # errors are never folded
    assert "Cleanup result: each of its 7 rows is reported above." in text
    assert text.index("Already gone") < text.index("Could not remove")


def test_commands_do_not_break_the_folding(tmp_path):
    """Cleanup alternates a command and a result line: every command is printed, and the result
    lines still fold together."""
    reporter, out = _reporter(tmp_path)
    reporter.state_saved(_doc(prepare="running"))
    for i in range(9):
        reporter.command(cmd("kubectl", "delete", "trainingjobs", f"job-{i}"))
        reporter.log(f"Removed custom-resource trainingjobs/job-{i}.", "success")
    reporter.state_saved(_doc(prepare="done"))
    text = out.getvalue()
    assert text.count("$ kubectl delete trainingjobs") == 1  # alike: one line naming each
    assert "$ kubectl delete trainingjobs job-{0,1,2,3,4,5,6,7,8}" in text
    names = ", ".join(f"trainingjobs/job-{i}" for i in range(9))
    assert f"Removed custom-resource (9): {names}." in text


def test_a_failed_tasks_reason_is_its_exception_line_not_the_traceback_tail():
    """The run-failure dialog gets SageMaker's message, or the task's exception line: never the
    frames of the waiting pod's traceback nor a ``raise … from None`` tail."""
    from wizard.kfp_ops.monitor import _reason

    traceback = ("Traceback (most recent call last):\n  File \"/c.py\", line 9, in wait\n"
                 "    raise ask(_exc) from None\n"
                 "RuntimeError: TrainingJob t failed: ResourceLimitExceeded: quota is 0\n")
    assert _reason(traceback) == "RuntimeError: TrainingJob t failed: ResourceLimitExceeded: quota is 0"
    assert "raise" not in _reason("it failed\n    raise ask(_exc) from None")


def test_the_tuis_plan_table_names_each_item_whole_in_a_narrow_pane():
    """The TUI's log draws a cleanup plan at the pane's width (about 50 cells at 80×24): every
    name is folded onto more lines, never cut with an ellipsis."""
    from wizard.views import render

    name = "s3://sagemaker-kf-sm-workshop-eu-west-1-123456789012/lab1/runs/0f0c90b530/processing/test/"
    out = io.StringIO()
    Console(file=out, width=50, color_system=None).print(render("table", {
        "title": "Cleanup plan", "columns": ["kind", "name", "namespace", "found from"],
        "rows": [["s3-prefix", name, "", "output of processingjobs/mnist-proc-0f0c90b530"]]}))
    cells = "".join(line.split("│")[2].strip() for line in out.getvalue().splitlines()
                    if line.count("│") >= 4)
    assert name in cells and "…" not in out.getvalue()


def test_on_a_terminal_a_live_region_redraws_and_leaves_the_printed_lines(tmp_path):
    """On a terminal the progress bars and the monitoring picture sit in a live region that is
    gone when the step ends; the printed change lines stay, in order."""
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    reporter = HeadlessReporter(console, steps=STEPS, state_dir=tmp_path)
    assert reporter.live
    reporter.state_saved(_doc(train="running"))
    reporter.progress("pipeline tasks", 1, 4)
    reporter.show("graph", GRAPH)
    reporter.show("resources", RESOURCES)
    assert reporter._live is not None
    reporter.state_saved(_doc(train="done"))
    assert reporter._live is None
    text = out.getvalue()
    assert text.index("Step 2 of 2 · Train") < text.index("Pipeline (4 tasks)") < \
        text.index("✔ Train done in 1.5 s")


def test_a_polls_task_changes_share_a_line_with_its_resource_changes(tmp_path):
    """The monitor logs a poll's task changes, shows the graph, then logs its resources'
    changes: printed, they read as one line while it fits the width (a wider one starts anew)."""
    reporter, out = _reporter(tmp_path)
    reporter.state_saved(_doc(train="running"))
    reporter.log("tasks: processing SUCCEEDED, tuning RUNNING")
    reporter.show("graph", GRAPH)
    reporter.log("ProcessingJob mnist-proc-1: Completed")
    reporter.log("HyperParameterTuningJob mnist-hpo-1: InProgress")
    reporter.log("TrainingJob mnist-train-1: InProgress (Starting)")
    reporter.show("resources", [])
    reporter.log("tasks: tuning SUCCEEDED")
    reporter.log("Run r1 SUCCEEDED after 3 s of monitoring.")
    lines = out.getvalue().splitlines()
    joined = ("tasks: processing SUCCEEDED, tuning RUNNING · ProcessingJob mnist-proc-1: Completed"
              " · ")
    assert not any(line.startswith(joined) for line in lines)  # wider than 100: a new line
    assert "tasks: processing SUCCEEDED, tuning RUNNING · ProcessingJob mnist-proc-1: Completed" in lines
    assert "HyperParameterTuningJob mnist-hpo-1: InProgress" in lines
    assert lines.index("tasks: tuning SUCCEEDED") < lines.index("Run r1 SUCCEEDED after 3 s of "
                                                                 "monitoring.")
    assert out.getvalue().index("Pipeline (4 tasks)") < out.getvalue().index("tasks: processing")


def test_short_views_print_as_paragraphs(tmp_path):
    """A record (kv) and a marked list print as a paragraph each, values whole; a table with a
    brief prints its brief; a plan named item by item later prints counted when nobody confirms."""
    reporter, out = _reporter(tmp_path)
    reporter.show("kv", {"title": "Credentials", "items": [
        ("execution role", "arn:aws:iam::123456789012:role/lab-exec"), ("secret", "-")]})
    reporter.show("table", {"title": "2 CRDs", "columns": ["", "kind", "version", "summary"],
                            "rows": [["✔", "Endpoint", "v1alpha1", "x" * 80],
                                     ["", "Model", "v1alpha1", "y" * 80]]})
    reporter.show("table", {"title": "Clusters", "columns": ["c", "n"], "rows": [[0, 1]],
                            "brief": "c0 holds 0s."})
    plan = {"title": "Cleanup plan: 3 resource(s)", "named_later": True,
            "columns": ["kind", "name"], "rows": [["iam-role", "r1"], ["iam-role", "r2"],
                                                  ["s3-object", "o1"]]}
    reporter.show("table", plan)
    reporter.unattended = True
    reporter.show("table", plan)
    text = out.getvalue()
    assert "Credentials: execution role arn:aws:iam::123456789012:role/lab-exec · secret -" in text
    assert "2 CRDs (version v1alpha1, ✔ marks the chosen ones): ✔ Endpoint, Model." in text
    assert "x" * 20 not in text
    assert "c0 holds 0s." in text and "Clusters" not in text
    assert text.count("r2") == 1  # asked: named; unattended: counted
    assert "Cleanup plan: 3 resource(s) (2 kind(s); each is named below as it is handled)." in text


def test_a_tuning_jobs_training_jobs_are_said_once_not_printed(tmp_path):
    """Training jobs of a tuning job log as the lab's training job does: their lines are left to
    the TUI, one line says so."""
    reporter, out = _reporter(tmp_path)
    hpo = {"kind": "HyperParameterTuningJob", "name": "hpo", "status": "InProgress",
           "children": [{"name": "hpo-001", "log_tail": ["fitted 10 centroids"]},
                        {"name": "hpo-002", "log_tail": ["fitted 10 centroids again"]}]}
    reporter.show("resources", [hpo])
    reporter.show("resources", [hpo])
    text = out.getvalue()
    assert "fitted" not in text
    assert text.count("hpo: its training jobs log like the training job below") == 1
