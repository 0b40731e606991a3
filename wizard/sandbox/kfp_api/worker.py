"""The run worker: ``python -m wizard.sandbox.kfp_api.worker RUN_DIR``.

The API server starts one worker per run, in its own session (process group), so that a run
never blocks the API and a terminate can kill the worker and every component process at once.
The worker reads ``RUN_DIR/job.json``, runs the pipeline with kfp.local's subprocess runner
(``use_venv=False``: components use this interpreter and its installed packages) and keeps
``RUN_DIR/status.json`` current.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

from .dag import DagRunner, PipelineError, unsupported_features
from .progress import Progress, now
from .store import read_json

_TYPES = {"NUMBER_INTEGER": "int", "NUMBER_DOUBLE": "float", "BOOLEAN": "bool",
          "STRING": "str", "STRUCT": "dict", "LIST": "list"}


def _coerce(name: str, value: Any, ptype: str) -> Any:
    """Convert a runtime parameter to the type the pipeline declares, or explain why not."""
    try:
        if ptype == "NUMBER_INTEGER":
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if ptype == "NUMBER_DOUBLE":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if ptype == "BOOLEAN":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        if ptype == "STRING":
            return value if isinstance(value, str) else str(value)
        if ptype == "STRUCT" and isinstance(value, dict):
            return value
        if ptype == "LIST" and isinstance(value, list):
            return value
        if ptype in ("STRUCT", "LIST") and isinstance(value, str):
            import json
            parsed = json.loads(value)
            if isinstance(parsed, dict if ptype == "STRUCT" else list):
                return parsed
        if ptype in ("STRUCT", "LIST"):
            raise ValueError
        return value
    except (TypeError, ValueError):
        raise PipelineError(f"parameter '{name}' must be a {_TYPES.get(ptype, ptype)}, "
                            f"got {value!r}") from None


def prepare_arguments(spec: Any, given: dict[str, Any]) -> dict[str, Any]:
    """Check the run's parameters against the pipeline's inputs and convert their types."""
    declared = spec.root.input_definitions.parameters
    unknown = sorted(set(given) - set(declared))
    if unknown:
        names = ", ".join(sorted(declared)) or "none"
        raise PipelineError(f"unknown pipeline parameter(s) {', '.join(unknown)}; the pipeline "
                            f"'{spec.pipeline_info.name}' takes: {names}")
    missing = [n for n, d in declared.items()
               if n not in given and not d.is_optional and not d.HasField("default_value")]
    if missing:
        raise PipelineError(f"missing required pipeline parameter(s): {', '.join(missing)}; "
                            "pass them in runtime_config.parameters")
    if any(not a.is_optional for a in spec.root.input_definitions.artifacts.values()):
        raise PipelineError("the pipeline takes input artifacts, which a run cannot pass")
    from kfp.pipeline_spec import pipeline_spec_pb2

    type_name = pipeline_spec_pb2.ParameterType.ParameterTypeEnum.Name
    return {name: _coerce(name, value, type_name(declared[name].parameter_type))
            for name, value in given.items()}


def main(run_dir: Path, zygote: Any = None) -> int:
    """Run the job in ``run_dir``; exit code 0 when it succeeded, 1 otherwise. ``zygote``: the
    tasks' zygote a standby worker started already (None: start one now)."""
    warnings.simplefilter("ignore")
    job = read_json(run_dir / "job.json")
    if not job:
        print(f"no readable job.json in {run_dir}", file=sys.stderr)
        if zygote is not None:
            zygote.stop(wait=False)
        return 2
    progress = Progress(run_dir / "status.json", job["run_id"])
    progress.set_run(state="RUNNING", started_at=now(), worker_pid=os.getpid())
    if zygote is None:
        from .warm import start_zygote

        # the tasks' zygote imports kfp and the kubernetes client while this process imports
        # kfp.local and reads the spec (two cores: the first task no longer waits for both in
        # turn)
        zygote = start_zygote(run_dir / "zygote.log")
    try:
        return _run(run_dir, job, progress, zygote)
    finally:
        if zygote is not None:
            # its tasks have all ended; closing its control socket ends it (no wait: the API
            # reports the run's end only once this worker has exited)
            zygote.stop(wait=False)


def _run(run_dir: Path, job: dict, progress: Progress, zygote: Any) -> int:
    """Run the pipeline of ``job`` with the tasks forked from ``zygote``; the exit code."""
    try:
        from google.protobuf import json_format
        from kfp import local
        from kfp.pipeline_spec import pipeline_spec_pb2

        spec = json_format.ParseDict(job["pipeline_spec"], pipeline_spec_pb2.PipelineSpec(),
                                     ignore_unknown_fields=True)
        missing = unsupported_features(spec)
        if missing:
            raise PipelineError(f"the pipeline uses {', '.join(missing)}, which the sandbox's "
                                "executor does not run; use plain tasks, nested pipelines or "
                                "dsl.If")
        arguments = prepare_arguments(spec, job.get("parameters") or {})
        local.init(runner=local.SubprocessRunner(use_venv=False),
                   pipeline_root=str(run_dir / "outputs"),
                   workspace_root=str(run_dir / "workspace"), raise_on_error=False)
        runner = DagRunner(spec, progress, run_dir, job["run_id"], zygote=zygote)
        try:
            runner.register(spec.root)
            outputs, ok = runner.run_dag(spec.root, arguments)
        finally:
            runner.close()
    except PipelineError as exc:
        progress.close_open_tasks("SKIPPED")
        progress.set_run(state="FAILED", error=str(exc), finished_at=now())
        return 1
    except Exception as exc:  # anything unexpected still ends as a readable FAILED run
        progress.close_open_tasks("SKIPPED")
        detail = traceback.format_exc(limit=5)
        progress.set_run(state="FAILED", finished_at=now(),
                         error=f"the sandbox worker hit an internal error: {exc}\n{detail}")
        return 1
    if ok:
        from .progress import jsonable
        progress.set_run(state="SUCCEEDED", finished_at=now(), outputs=jsonable(outputs))
        return 0
    # report the tasks that failed themselves, not the sub-pipelines that contain them
    failed = [f"{t['error']}" for t in progress.doc["tasks"].values()
              if t["state"] == "FAILED" and t["error"]
              and not t["error"].startswith("a task inside")]
    progress.close_open_tasks("SKIPPED")
    progress.set_run(state="FAILED", finished_at=now(),
                     error="; ".join(dict.fromkeys(failed)) or "a task failed")
    return 1


def standby(runs_root: Path) -> int:
    """``--standby RUNS_ROOT``: a worker started before its run, so that a run's first task
    does not wait for an interpreter, kfp.local and the tasks' zygote (which imports the
    kubernetes client, most of a second) to start.

    It starts the zygote, imports what :func:`_run` imports, then reads one line from stdin:
    ``{"run_dir": ..., "env": {...}}``. From then on it is that run's worker, as if started
    for it: the run's environment, the run directory as working directory (``sys.path[0]``
    too) and its ``worker.log`` as stdout and stderr. End of input without a line (the server
    went away, or is stopping) ends it.
    """
    import json
    import tempfile

    warnings.simplefilter("ignore")
    from .warm import start_zygote

    zygote = start_zygote(runs_root / "standby-zygote.log")
    from google.protobuf import json_format  # noqa: F401 - imported now, used by _run
    from kfp import local  # noqa: F401
    from kfp.pipeline_spec import pipeline_spec_pb2  # noqa: F401

    line = sys.stdin.readline()
    if not line.strip():
        if zygote is not None:
            zygote.stop()
        return 0
    order = json.loads(line)
    run_dir = Path(order["run_dir"])
    os.chdir(run_dir)  # first: the server tells this run's worker by its working directory
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(run_dir / "worker.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(order["env"])
    tempfile.tempdir = None  # read $TMPDIR (the run's) again on next use
    sys.path[0] = str(run_dir)  # what `python -m` in the run directory puts first
    return main(run_dir, zygote)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--standby":
        code = standby(Path(sys.argv[2]))
    elif len(sys.argv) != 2:
        print("usage: python -m wizard.sandbox.kfp_api.worker RUN_DIR\n"
              "       python -m wizard.sandbox.kfp_api.worker --standby RUNS_ROOT",
              file=sys.stderr)
        sys.exit(2)
    else:
        code = main(Path(sys.argv[1]))
    # the run's final state is on disk (written atomically) and every task has ended; the API
    # server settles the run when this process exits, so exit now instead of tearing down
    # kfp, protobuf and the kubernetes client (0.2 to 0.5 s on a busy machine)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
