"""Walks a compiled pipeline's DAG and runs each task with kfp.local's machinery.

kfp.local can run a whole pipeline, but only as one blocking call that reports nothing until it
ends. The sandbox needs per-task states while the run progresses, a log file per task, and
independent tasks running side by side as on a cluster, so this module drives the DAG itself and
uses kfp.local's parts for each task: executor input construction, placeholder resolution, the
subprocess runner's checks and python swap, and executor output reading.

Supported: lightweight Python components, importers, nested pipelines (DAG components) and
``dsl.If``/``dsl.Condition`` branches. ``dsl.ParallelFor`` and ``dsl.ExitHandler`` are refused
up front with a clear error.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from .progress import Progress, jsonable

MAX_PARALLEL_TASKS = 4
LOG_TAIL_LINES = 15


class PipelineError(Exception):
    """A run that cannot proceed; the message is shown as the run's error."""


def unsupported_features(spec: Any) -> list[str]:
    """Control-flow features of ``spec`` this executor does not run, as readable names."""
    found = set()
    dags = [spec.root] + [c for c in spec.components.values()
                          if c.WhichOneof("implementation") == "dag"]
    for comp in dags:
        for task in comp.dag.tasks.values():
            if task.WhichOneof("iterator"):
                found.add("dsl.ParallelFor")
            if any(p.HasField("task_final_status") for p in task.inputs.parameters.values()):
                found.add("dsl.ExitHandler")
            if task.trigger_policy.strategy == task.trigger_policy.ALL_UPSTREAM_TASKS_COMPLETED:
                found.add("dsl.ExitHandler")
    return sorted(found)


def evaluate_condition(expression: str, arguments: dict[str, Any]) -> bool:
    """Evaluate a compiled ``dsl.If`` condition (a small CEL subset) against task inputs.

    The compiler writes conditions such as
    ``inputs.parameter_values['pipelinechannel--flip-Output'] == 'heads'``; the inputs it names
    are the condition task's own input parameters.
    """
    def value_of(match: re.Match) -> str:
        """The Python literal of the input a match names."""
        name = match.group(1)
        if name not in arguments:
            raise PipelineError(f"condition '{expression}' names unknown input '{name}'")
        return repr(arguments[name])

    text = re.sub(r"inputs\.parameter_values\['([^']+)'\]", value_of, expression)
    text = text.replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)
    env = {"__builtins__": {}, "int": int, "double": float, "string": str, "bool": bool,
           "true": True, "false": False, "null": None}
    try:
        return bool(eval(text, env, {}))  # noqa: S307 - restricted env, compiler-written text
    except Exception as exc:  # any parse/eval failure is the pipeline's problem, reported
        raise PipelineError(f"cannot evaluate condition '{expression}': {exc}") from None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of a log file, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])


def local_command(command: list[str]) -> tuple[list[str], bool]:
    """A component's command as the sandbox runs it, and whether its pip preamble was dropped.

    The preamble goes first (see :mod:`.pipcheck`: it looks for kfp's ``python3 -m pip``
    line), then ``python3`` becomes this interpreter as kfp.local's subprocess runner does. The
    other order never dropped the preamble where the interpreter is not named ``python3``, so
    every task ran pip.
    """
    from kfp.local import subprocess_task_handler

    from .pipcheck import strip_satisfied_pip

    command, skipped = strip_satisfied_pip(command)
    return subprocess_task_handler.replace_python_executable(command, sys.executable), skipped


class DagRunner:
    """Runs one pipeline spec; reports every task through a :class:`Progress`."""

    def __init__(self, spec: Any, progress: Progress, run_dir: Path, run_id: str,
                 zygote: Any = None):
        """Prepare to run ``spec`` (a PipelineSpec message) inside ``run_dir``; ``zygote`` is
        one the caller started already (else one is started here)."""
        from kfp.local import config, executor_input_utils, utils

        self.spec = spec
        self.progress = progress
        self.run_id = run_id
        self.logs_dir = run_dir / "logs"
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.pipeline_root = str(run_dir / "outputs")
        self.runner = config.LocalExecutionConfig.instance.runner
        self.executors = {name: utils.struct_to_executor_spec(ex)
                          for name, ex in spec.deployment_spec["executors"].items()}
        self.components = dict(spec.components.items())
        self.resource_name = executor_input_utils.get_local_pipeline_resource_name(
            spec.pipeline_info.name)
        self.pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL_TASKS)
        from .warm import start_zygote

        # started now at the latest, so its imports overlap the worker's own set-up
        self.zygote = zygote if zygote is not None else start_zygote(run_dir / "zygote.log")
        self._own_zygote = zygote is None

    def close(self) -> None:
        """Stop the zygote if this runner started it (the worker is done with its tasks); a
        zygote the caller passed in is the caller's to stop."""
        if self.zygote is not None and self._own_zygote:
            self.zygote.stop()

    # registration ----------------------------------------------------------------------------
    def register(self, component: Any, prefix: str | None = None) -> None:
        """Add every task (nested DAGs included) to the progress document as PENDING."""
        for name in component.dag.tasks:
            task = component.dag.tasks[name]
            key = f"{prefix}/{name}" if prefix else name
            display = task.task_info.name or name
            self.progress.add_task(key, display, prefix,
                                   str(self.logs_dir / f"{key.replace('/', '.')}.log"))
            child = self.components[task.component_ref.name]
            if child.WhichOneof("implementation") == "dag":
                self.register(child, key)

    def skip_subtree(self, key: str, state: str) -> None:
        """Mark the tasks under ``key`` (a DAG task that will not run) with ``state``."""
        for task_key in list(self.progress.doc["tasks"]):
            if task_key.startswith(key + "/"):
                self.progress.update_task(task_key, state=state)

    # execution -------------------------------------------------------------------------------
    def run_dag(self, component: Any, arguments: dict[str, Any],
                prefix: str | None = None) -> tuple[dict[str, Any], bool]:
        """Run a DAG component; return ``(outputs, succeeded)``."""
        from kfp.local import io
        from kfp.local.orchestrator.orchestrator_utils import OrchestratorUtils as OU

        store = io.IOStore()
        for name, value in OU.join_user_inputs_and_defaults(
                arguments, component.input_definitions).items():
            store.put_parent_input(name, value)
        tasks = component.dag.tasks
        states: dict[str, str] = {}
        running: dict[Future, str] = {}
        failed = False
        while len(states) < len(tasks):
            before = len(states) + len(running)
            for name in tasks:
                if name in states or name in running.values():
                    continue
                deps = list(tasks[name].dependent_tasks)
                if not all(d in states for d in deps):
                    continue
                key = f"{prefix}/{name}" if prefix else name
                if failed or any(states[d] != "SUCCEEDED" for d in deps):
                    # upstream failed or was skipped: this task never runs
                    states[name] = "SKIPPED"
                    self.progress.update_task(key, state="SKIPPED")
                    self.skip_subtree(key, "SKIPPED")
                    continue
                running[self.pool.submit(self.run_task, key, tasks[name], store)] = name
            if not running:
                if len(states) == before:
                    raise PipelineError(f"tasks {sorted(set(tasks) - set(states))} wait on "
                                        "tasks that never finish; the DAG is malformed")
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                name = running.pop(fut)
                outputs, state = fut.result()
                states[name] = state
                if state == "SUCCEEDED":
                    for out_key, value in outputs.items():
                        store.put_task_output(name, out_key, value)
                elif state == "FAILED":
                    failed = True
        if failed:
            return {}, False
        try:
            return OU.get_dag_outputs(dag_outputs_spec=component.dag.outputs, io_store=store), True
        except (ValueError, NotImplementedError) as exc:
            raise PipelineError(f"cannot collect the outputs of "
                                f"{prefix or 'the pipeline'}: {exc}") from None

    def run_task(self, key: str, task: Any, store: Any) -> tuple[dict[str, Any], str]:
        """Run one task of a DAG (in a pool thread); return ``(outputs, final state)``."""
        from kfp.local.orchestrator.orchestrator_utils import OrchestratorUtils as OU

        self.progress.update_task(key, state="RUNNING")
        try:
            arguments = OU.make_task_arguments(task_inputs_spec=task.inputs, io_store=store)
            self.progress.update_task(key, inputs=jsonable(arguments))
            if task.trigger_policy.condition and not evaluate_condition(
                    task.trigger_policy.condition, arguments):
                self.progress.update_task(key, state="SKIPPED")
                self.skip_subtree(key, "SKIPPED")
                return {}, "SKIPPED"
            component = self.components[task.component_ref.name]
            if component.WhichOneof("implementation") == "dag":
                outputs, ok = self.run_dag(component, arguments, key)
                if not ok:
                    self.progress.update_task(key, state="FAILED",
                                              error="a task inside this sub-pipeline failed")
                    return {}, "FAILED"
            else:
                outputs = self.run_executor(key, task.component_ref.name, component, arguments)
        except Exception as exc:  # a task's failure must not take the worker down
            self.progress.update_task(key, state="FAILED", error=str(exc) or type(exc).__name__)
            return {}, "FAILED"
        self.record_outputs(key, outputs)
        self.progress.update_task(key, state="SUCCEEDED")
        return outputs, "SUCCEEDED"

    def record_outputs(self, key: str, outputs: dict[str, Any]) -> None:
        """Store a task's parameter and artifact outputs in the progress document."""
        from kfp import dsl

        params = {k: jsonable(v) for k, v in outputs.items() if not isinstance(v, dsl.Artifact)}
        arts = {k: jsonable(v) for k, v in outputs.items() if isinstance(v, dsl.Artifact)}
        self.progress.update_task(key, parameters=params, artifacts=arts)

    def run_executor(self, key: str, component_name: str, component: Any,
                     arguments: dict[str, Any]) -> dict[str, Any]:
        """Run an importer or a lightweight Python component; return its outputs."""
        from kfp.local import importer_handler, status

        executor = self.executors[component.executor_label]
        kind = executor.WhichOneof("spec")
        if kind == "importer":
            outputs, result = importer_handler.run_importer(
                pipeline_resource_name=self.resource_name, component_name=component_name,
                component_spec=component, executor_spec=executor, arguments=arguments,
                pipeline_root=self.pipeline_root, unique_pipeline_id=self.run_id)
            if result != status.Status.SUCCESS:
                raise PipelineError("the importer failed")
            return outputs
        if kind != "container":
            raise PipelineError(f"unknown executor kind '{kind}'")
        return self.run_container(key, component, executor.container, arguments)

    def _warm_start(self, command: list[str], log: Any) -> Any:
        """The task's process forked from the run's zygote when its command is kfp's executor
        script (see :mod:`.warm`), else None."""
        from .warm import executor_call, spawn_executor

        call = executor_call(command) if self.zygote is not None else None
        if call is None:
            return None
        return spawn_executor(self.zygote, call[0], call[1], log.fileno())

    def run_container(self, key: str, component: Any, container: Any,
                      arguments: dict[str, Any]) -> dict[str, Any]:
        """Run a component's command as a subprocess, logging to the task's log file."""
        from kfp.local import executor_input_utils as eiu
        from kfp.local import executor_output_utils, placeholder_utils, subprocess_task_handler

        task_resource = key.replace("/", ".")
        task_root = eiu.construct_local_task_root(self.pipeline_root, self.resource_name,
                                                  task_resource)
        executor_input = eiu.construct_executor_input(
            component_spec=component, arguments=arguments, task_root=task_root,
            block_input_artifact=False)
        command = placeholder_utils.replace_placeholders(
            full_command=list(container.command) + list(container.args),
            executor_input_dict=eiu.executor_input_to_dict(executor_input, component),
            pipeline_resource_name=self.resource_name, task_resource_name=task_resource,
            pipeline_root=self.pipeline_root, unique_pipeline_id=self.run_id)
        try:
            # the subprocess runner's own checks: lightweight Python components only
            subprocess_task_handler.SubprocessTaskHandler(
                image=container.image, full_command=command, pipeline_root=self.pipeline_root,
                runner=self.runner)
        except RuntimeError as exc:
            raise PipelineError(f"{exc} The sandbox runs lightweight Python components "
                                "(@dsl.component) only.") from None
        command, skipped = local_command(command)
        log_path = Path(self.progress.doc["tasks"][key]["log"])
        with open(log_path, "ab") as log:
            if skipped:
                log.write(b"sandbox: the component's packages are already installed; pip skipped\n")
                log.flush()
            proc = self._warm_start(command, log)
            if proc is None:
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT)
            self.progress.update_task(key, pod_pid=proc.pid)
            code = proc.wait()
        self.progress.update_task(key, exit_code=code)
        if code != 0:
            tail = log_tail(log_path)
            raise PipelineError(f"task '{key}' exited with code {code}. Last lines of its log:\n"
                                f"{tail}")
        return executor_output_utils.get_outputs_for_task(executor_input=executor_input,
                                                          component_spec=component)
