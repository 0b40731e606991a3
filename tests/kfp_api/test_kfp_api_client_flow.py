"""The lab's path through kfp.Client against the sandbox server: upload, version, run, read."""

from __future__ import annotations

import json
import urllib.request

import pytest

RUN_TIMEOUT = 90


def _raw(url: str) -> dict:
    """GET a JSON document from the server without the SDK's models."""
    with urllib.request.urlopen(url, timeout=120) as resp:
        return json.loads(resp.read())


def test_upload_version_run_and_read_outputs(kfp_server, client, pipelines):
    pipeline = client.upload_pipeline(str(pipelines["sum"]), pipeline_name="lab-sum",
                                      description="two tasks")
    assert pipeline.display_name == "lab-sum"
    assert client.get_pipeline_id("lab-sum") == pipeline.pipeline_id
    assert client.get_pipeline(pipeline.pipeline_id).description == "two tasks"

    version = client.upload_pipeline_version(str(pipelines["sum"]), "v2",
                                             pipeline_name="lab-sum")
    assert version.pipeline_id == pipeline.pipeline_id
    versions = client.list_pipeline_versions(pipeline.pipeline_id)
    assert versions.total_size == 2
    assert sorted(v.display_name for v in versions.pipeline_versions) == ["lab-sum", "v2"]
    got = client.get_pipeline_version(pipeline.pipeline_id, version.pipeline_version_id)
    assert got.pipeline_spec["pipelineInfo"]["name"] == "sum-pipeline"

    experiment = client.create_experiment("lab-experiment", namespace="kubeflow-user-example-com")
    assert experiment.namespace == "kubeflow-user-example-com"
    # create_experiment is get-or-create in the SDK: a second call returns the same one
    again = client.create_experiment("lab-experiment", namespace="kubeflow-user-example-com")
    assert again.experiment_id == experiment.experiment_id

    run = client.run_pipeline(experiment.experiment_id, "lab-run",
                              pipeline_id=pipeline.pipeline_id,
                              version_id=version.pipeline_version_id,
                              params={"a": 20, "b": 22, "label": "answer"})
    assert run.state in ("PENDING", "RUNNING")
    done = client.wait_for_run_completion(run.run_id, timeout=RUN_TIMEOUT, sleep_duration=0.3)
    assert done.state == "SUCCEEDED", done.error
    assert done.pipeline_version_reference.pipeline_version_id == version.pipeline_version_id
    assert done.runtime_config.parameters == {"a": 20, "b": 22, "label": "answer"}
    assert done.finished_at is not None and done.finished_at >= done.created_at
    assert [h.state for h in done.state_history][-1] == "SUCCEEDED"

    tasks = {t.display_name: t for t in done.run_details.task_details}
    assert set(tasks) == {"add", "describe"}
    for task in tasks.values():
        assert task.state == "SUCCEEDED"
        assert task.create_time and task.start_time and task.end_time
        assert task.start_time <= task.end_time
    # describe consumed add's output, so it started after add ended
    assert tasks["describe"].start_time >= tasks["add"].end_time

    raw = _raw(f"{kfp_server.url}/apis/v2beta1/runs/{run.run_id}")
    by_name = {t["display_name"]: t for t in raw["run_details"]["task_details"]}
    assert by_name["add"]["sandbox"]["parameters"] == {"Output": 42}
    assert by_name["describe"]["sandbox"]["parameters"] == {"Output": "answer=42"}

    outputs = _raw(f"{kfp_server.url}/apis/v2beta1/sandbox/runs/{run.run_id}/tasks")
    assert outputs["state"] == "SUCCEEDED"
    assert {t["display_name"]: t["parameters"] for t in outputs["tasks"]} == {
        "add": {"Output": 42}, "describe": {"Output": "answer=42"}}
    with urllib.request.urlopen(
            f"{kfp_server.url}/apis/v2beta1/sandbox/runs/{run.run_id}/tasks/add/log") as resp:
        assert "adding 20 and 22" in resp.read().decode()

    listed = client.list_runs(experiment_id=experiment.experiment_id)
    assert [r.run_id for r in listed.runs] == [run.run_id]
    by_ns = client.list_runs(namespace="kubeflow-user-example-com")
    assert run.run_id in [r.run_id for r in by_ns.runs]
    assert not client.list_runs(namespace="someone-else").runs


def test_run_from_package_uses_default_experiment_and_inline_spec(client, pipelines):
    result = client.create_run_from_pipeline_package(str(pipelines["sum"]),
                                                     arguments={"a": "3"}, run_name="inline")
    done = client.wait_for_run_completion(result.run_id, timeout=RUN_TIMEOUT,
                                          sleep_duration=0.3)
    assert done.state == "SUCCEEDED", done.error
    assert done.pipeline_spec["pipelineInfo"]["name"] == "sum-pipeline"
    experiment = client.get_experiment(experiment_id=done.experiment_id)
    assert experiment.display_name == "Default"


def test_run_without_experiment_gets_the_default_one(kfp_server, client, pipelines):
    from kfp_server_api import V2beta1Run
    import yaml

    spec = yaml.safe_load(pipelines["sum"].read_text())
    created = client.runs.run_service_create_run(
        run=V2beta1Run(display_name="no-experiment", pipeline_spec=spec))
    default = client.get_experiment(experiment_name="Default")
    assert created.experiment_id == default.experiment_id
    assert client.wait_for_run_completion(created.run_id, RUN_TIMEOUT, 0.3).state == "SUCCEEDED"


def test_failing_component_fails_the_run_with_its_error(client, pipelines):
    result = client.create_run_from_pipeline_package(str(pipelines["failing"]),
                                                     arguments={"x": 9}, run_name="failing")
    done = client.wait_for_run_completion(result.run_id, timeout=RUN_TIMEOUT,
                                          sleep_duration=0.3)
    assert done.state == "FAILED"
    assert "explode refused 9" in done.error.message
    tasks = {t.display_name: t for t in done.run_details.task_details}
    assert tasks["explode"].state == "FAILED"
    assert "explode refused 9" in tasks["explode"].error.message
    assert tasks["add"].state == "SKIPPED"


def test_run_env_reaches_components_and_offline_pip_works(kfp_server, client, pipelines):
    result = client.create_run_from_pipeline_package(str(pipelines["env"]), run_name="env")
    done = client.wait_for_run_completion(result.run_id, RUN_TIMEOUT, 0.3)
    assert done.state == "SUCCEEDED", done.error
    outputs = _raw(f"{kfp_server.url}/apis/v2beta1/sandbox/runs/{result.run_id}/tasks")
    params = {t["display_name"]: t["parameters"]["Output"] for t in outputs["tasks"]}
    assert params == {"read-env": "from-run-env", "uses-yaml": "text: offline"}


def test_missing_package_fails_fast_offline_with_pips_message(client, pipelines):
    result = client.create_run_from_pipeline_package(str(pipelines["missing"]), run_name="miss")
    done = client.wait_for_run_completion(result.run_id, RUN_TIMEOUT, 0.3)
    assert done.state == "FAILED"
    assert "labwiz-no-such-package-xyz" in done.error.message


def test_nested_pipeline_and_condition(kfp_server, client, pipelines):
    result = client.create_run_from_pipeline_package(str(pipelines["nested"]),
                                                     arguments={"a": 5}, run_name="nested")
    done = client.wait_for_run_completion(result.run_id, RUN_TIMEOUT, 0.3)
    assert done.state == "SUCCEEDED", done.error
    raw = _raw(f"{kfp_server.url}/apis/v2beta1/sandbox/runs/{result.run_id}/tasks")
    by_key = {t["task_key"]: t for t in raw["tasks"]}
    assert by_key["inner/add"]["parameters"] == {"Output": 15}
    taken = [t for k, t in by_key.items() if "/describe" in k and t["state"] == "SUCCEEDED"]
    skipped = [t for k, t in by_key.items() if "/describe" in k and t["state"] == "SKIPPED"]
    assert [t["parameters"]["Output"] for t in taken] == ["taken=15"]
    assert len(skipped) == 1
    details = {t.task_id: t for t in done.run_details.task_details}
    inner_task = next(t for t in details.values() if t.display_name == "inner")
    assert {c.task_id for c in inner_task.child_tasks} == {by_key["inner/add"]["task_id"]}


def test_archive_and_delete(client, pipelines):
    experiment = client.create_experiment("to-archive")
    result = client.run_pipeline(experiment.experiment_id, "archived-run",
                                 pipeline_package_path=str(pipelines["sum"]))
    client.wait_for_run_completion(result.run_id, RUN_TIMEOUT, 0.3)
    client.archive_experiment(experiment.experiment_id)
    assert client.get_experiment(experiment_id=experiment.experiment_id).storage_state == \
        "ARCHIVED"
    assert client.get_run(result.run_id).storage_state == "ARCHIVED"
    client.unarchive_experiment(experiment.experiment_id)
    client.unarchive_run(result.run_id)
    assert client.get_run(result.run_id).storage_state == "AVAILABLE"
    client.delete_run(result.run_id)
    with pytest.raises(Exception) as err:
        client.get_run(result.run_id)
    assert err.value.status == 404
    client.delete_experiment(experiment.experiment_id)
    with pytest.raises(Exception) as err:
        client.get_experiment(experiment_id=experiment.experiment_id)
    assert err.value.status == 404
