"""Runs: creation, the worker processes that execute them, and their life cycle.

Each run gets ``runs/<run_id>/`` with the job the worker executes, and one worker process in its
own session (``start_new_session``), so a terminate kills the worker and every component process
with one ``killpg``. A thread per run waits for its worker and settles the final state. The state
the API reports while a run is active comes from the worker's ``status.json``.

After a crash of the server (SIGKILL), a restart re-adopts workers that are still alive and
follows them to the end; a run whose worker is gone is marked FAILED with an explanation. A clean
:meth:`RunManager.stop` kills the workers and marks their runs FAILED the same way.

While the sandbox fault ``run=Pending`` is set, new runs are kept PENDING without a worker (as
runs whose pods cannot be scheduled are); the next API call after the fault is cleared starts them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from . import warm
from .errors import ApiError, invalid, not_found
from .listing import paginate
from .progress import now
from .resources import Resources, field_getter, public
from .specs import spec_for_api, validate_spec
from .store import Store, atomic_write_json, read_json
from .views import run_view

FINAL = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")
KILL_GRACE_SECONDS = 3.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


def _alive(pid: int | None, run_id: str, run_dir: Path) -> bool:
    """Whether ``pid`` is still this run's worker (guards against pid reuse): its command line
    names the run, or it is a standby worker that took the run (its working directory is
    ``run_dir``)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # a zombie has finished; only its parent's wait() is missing
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    if state == "Z":
        return False
    if run_id.encode() in cmdline:
        return True
    if b"\0--standby\0" not in cmdline:
        return False
    try:
        return os.readlink(f"/proc/{pid}/cwd") == str(run_dir)
    except OSError:
        return False


class RunManager:
    """Creates runs, starts and watches their workers, and answers the run API calls."""

    def __init__(self, store: Store, resources: Resources, run_env: dict[str, str] | None,
                 faults: Any = None, warm_runs: bool = False):
        """``run_env`` is merged into every worker's environment; ``faults`` (a
        :class:`wizard.sandbox.faults.Faults`, optional) may hold new runs (``run=Pending``);
        ``warm_runs`` keeps a standby worker ready for the next run (see :meth:`_standby_up`)."""
        self.store = store
        self.resources = resources
        self.run_env = dict(run_env or {})
        self.faults = faults
        self.warm_runs = warm_runs
        self._procs: dict[str, subprocess.Popen] = {}
        self._adopted: dict[str, int] = {}  # run id -> pid of a worker a previous server started
        self._stopping = False
        self._standby: subprocess.Popen | None = None

    def _worker_alive(self, pid: int | None, run_id: str) -> bool:
        """Whether ``pid`` is still the worker of ``run_id`` (see :func:`_alive`)."""
        return _alive(pid, run_id, self.store.run_dir(run_id))

    # life cycle --------------------------------------------------------------------------------
    def recover(self) -> None:
        """On start: follow runs whose worker survived, settle the others."""
        for run_id, record in list(self.store.runs.items()):
            if record["state"] in FINAL or record.get("_held"):
                continue  # a held run never had a worker; it still waits for the fault to clear
            if self._worker_alive(record.get("_pid"), run_id):
                self._adopted[run_id] = record["_pid"]
                threading.Thread(target=self._follow_adopted, args=(run_id, record["_pid"]),
                                 daemon=True, name=f"kfp-run-{run_id[:8]}").start()
            else:
                self._finalize(run_id, None, "the sandbox KFP server stopped while this run was "
                               "in progress, and its worker is gone; start a new run (or retry "
                               "this one)")

    def stop(self) -> None:
        """Kill every active worker (and the standby one) and record why each run ended."""
        self._stopping = True
        standby, self._standby = self._standby, None
        if standby is not None:
            self._signal(standby.pid, signal.SIGKILL)
            try:
                standby.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for run_id, proc in list(self._procs.items()):
            self._signal(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._finalize(run_id, proc.returncode, "the sandbox KFP server was stopped while "
                           "this run was in progress; start a new run (or retry this one)")
        for run_id, pid in list(self._adopted.items()):
            self._signal(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while self._worker_alive(pid, run_id) and time.monotonic() < deadline:
                time.sleep(0.05)
            self._finalize(run_id, None, "the sandbox KFP server was stopped while this run "
                           "was in progress; start a new run (or retry this one)")

    def _env(self, run_dir: Path, run_id: str) -> dict[str, str]:
        """The worker's environment: ours, the sandbox's run_env, and offline-safe defaults."""
        env = dict(os.environ)
        env.update(self.run_env)
        # lightweight components `pip install` their packages; offline, pip must not try the
        # index for what is already installed, and fails fast with a clear error otherwise
        env.setdefault("PIP_NO_INDEX", "1")
        env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        env["PYTHONUNBUFFERED"] = "1"
        env["TMPDIR"] = str(run_dir / "tmp")
        env["KFP_SANDBOX_RUN_ID"] = run_id
        bin_dir = os.path.dirname(sys.executable)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH"))
                                            if p)
        return env

    def _launch(self, run_id: str) -> None:
        """Start the worker of ``run_id`` and a thread that waits for it (lock held)."""
        run_dir = self.store.run_dir(run_id)
        (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
        env = self._env(run_dir, run_id)
        proc = self._hand_to_standby(run_dir, env)
        if proc is None:
            with open(run_dir / "worker.log", "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "wizard.sandbox.kfp_api.worker", str(run_dir)],
                    cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._procs[run_id] = proc
        self.store.runs[run_id]["_pid"] = proc.pid
        threading.Thread(target=self._follow, args=(run_id, proc), daemon=True,
                         name=f"kfp-run-{run_id[:8]}").start()

    # the standby worker -------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Start the standby worker now (with ``warm_runs``), e.g. once the sandbox is up."""
        with self.store.lock:
            self._standby_up()

    def _standby_up(self) -> None:
        """With ``warm_runs``, have a standby worker ready for the next run.

        A run's worker spends most of a second before its first task can start: its own
        interpreter, kfp.local, and the tasks' zygote importing the kubernetes client. A standby
        worker (``worker --standby``) does all that ahead of the run, in its own session as
        every worker is, then waits for a run on stdin; :meth:`_hand_to_standby` gives it one.
        The same code then runs the same tasks, with the run's environment and directory. It
        is started once the sandbox is up and again after each run has ended.
        """
        if not self.warm_runs or self._stopping or not warm.enabled():
            return
        if self._standby is not None and self._standby.poll() is None:
            return
        root = self.store.data_dir / "runs"
        root.mkdir(parents=True, exist_ok=True)
        env = self._env(root, "")
        env.pop("KFP_SANDBOX_RUN_ID", None)
        env["TMPDIR"] = tempfile.gettempdir()
        try:
            with open(root / "standby.log", "ab") as log:
                self._standby = subprocess.Popen(
                    [sys.executable, "-m", "wizard.sandbox.kfp_api.worker", "--standby",
                     str(root)], cwd=root, env=env, stdin=subprocess.PIPE, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError:
            self._standby = None  # runs start their own workers, as without warm runs

    def _hand_to_standby(self, run_dir: Path, env: dict[str, str]) -> subprocess.Popen | None:
        """The standby worker, now running the run in ``run_dir``; None when there is none
        alive (the caller starts a worker of its own)."""
        proc, self._standby = self._standby, None
        if proc is None or proc.poll() is not None:
            return None
        order = json.dumps({"run_dir": str(run_dir), "env": env}) + "\n"
        try:
            assert proc.stdin is not None
            proc.stdin.write(order.encode())
            proc.stdin.close()
        except (OSError, ValueError):  # it died just now: end it for good, start a fresh one
            self._signal(proc.pid, signal.SIGKILL)
            return None
        return proc

    def _holding(self) -> bool:
        """Whether the ``run=Pending`` fault asks that new runs not start."""
        return self.faults is not None and self.faults.scenario("run") == "Pending"

    def _release_held(self) -> None:
        """Start the runs held by ``run=Pending`` once that fault is cleared."""
        if self._holding():
            return
        with self.store.lock:
            held = [r for r in self.store.runs.values() if r.get("_held")]
            if not held:
                return
            for record in held:
                record.pop("_held", None)
                if record["state"] == "PENDING":
                    self._launch(record["run_id"])
            self.store.save()

    def _follow(self, run_id: str, proc: subprocess.Popen) -> None:
        """Wait for a worker we started, then settle its run."""
        code = proc.wait()
        if not self._stopping:
            self._finalize(run_id, code, None)
        self._procs.pop(run_id, None)
        # the next standby starts once this run is over, not beside its first tasks, whose
        # CPU its imports would take
        self.warm_up()

    def _follow_adopted(self, run_id: str, pid: int) -> None:
        """Poll a worker a previous server process started, then settle its run."""
        while self._worker_alive(pid, run_id) and not self._stopping:
            time.sleep(0.3)
        if not self._stopping:
            self._finalize(run_id, None, None)
            self._adopted.pop(run_id, None)

    @staticmethod
    def _signal(pid: int | None, sig: int) -> None:
        """Send ``sig`` to the worker's process group (it leads its own session)."""
        if not pid:
            return
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _kill(self, run_id: str, pid: int | None) -> None:
        """SIGTERM the worker's group, then SIGKILL it if it has not gone after a grace."""
        self._signal(pid, signal.SIGTERM)

        def reaper() -> None:
            """SIGKILL the group once the grace period is over."""
            deadline = time.monotonic() + KILL_GRACE_SECONDS
            while time.monotonic() < deadline and self._worker_alive(pid, run_id):
                time.sleep(0.1)
            self._signal(pid, signal.SIGKILL)
        threading.Thread(target=reaper, daemon=True).start()

    def _finalize(self, run_id: str, exit_code: int | None, reason: str | None) -> None:
        """Record the final state of a run whose worker has ended."""
        status_path = self.store.run_dir(run_id) / "status.json"
        status = read_json(status_path, {}) or {}
        with self.store.lock:
            record = self.store.runs.get(run_id)
            if record is None or record["state"] in FINAL:
                return
            tasks = status.get("tasks") or {}
            if record.get("_cancel"):
                state, error, open_state = "CANCELED", None, "CANCELED"
            elif status.get("state") in ("SUCCEEDED", "FAILED") and reason is None:
                state, error, open_state = status["state"], status.get("error"), "SKIPPED"
            else:
                state, open_state = "FAILED", "FAILED"
                error = reason or (
                    f"the run's worker process ended (exit code {exit_code}) before the run "
                    f"finished; see {self.store.run_dir(run_id) / 'worker.log'}")
            stamp = now()
            for task in tasks.values():
                if task.get("state") not in FINAL:
                    task["state"] = "SKIPPED" if task.get("state") == "PENDING" and \
                        open_state == "FAILED" else open_state
                    task["end_time"] = stamp
            if tasks:
                status["tasks"] = tasks
                atomic_write_json(status_path, status)
            record.update(state=state, error=error, finished_at=status.get("finished_at")
                          if state == status.get("state") else stamp, _pid=None)
            if status.get("started_at"):
                record["state_history"].append({"update_time": status["started_at"],
                                                "state": "RUNNING"})
            record["state_history"].append({"update_time": record["finished_at"],
                                            "state": state})
            self.store.save()

    # API ---------------------------------------------------------------------------------------
    def _run(self, run_id: str) -> dict:
        """The stored run or NotFound."""
        record = self.store.runs.get(run_id)
        if record is None:
            raise not_found("Run", run_id)
        return record

    def _spec_for(self, body: dict) -> tuple[dict, dict | None]:
        """The spec document a run executes and its version reference, if any."""
        ref, inline = body.get("pipeline_version_reference"), body.get("pipeline_spec")
        if ref and inline:
            raise invalid("give either pipeline_version_reference or pipeline_spec, not both")
        if ref:
            if not isinstance(ref, dict):
                raise invalid("pipeline_version_reference must be an object")
            version, doc = self.resources.spec_of_reference(ref)
            return doc, {"pipeline_id": version["pipeline_id"],
                         "pipeline_version_id": version["pipeline_version_id"]}
        if body.get("pipeline_version_id"):
            version_id = body["pipeline_version_id"]
            version, doc = self.resources.spec_of_reference({"pipeline_version_id": version_id})
            return doc, {"pipeline_id": version["pipeline_id"],
                         "pipeline_version_id": version_id}
        if inline:
            return validate_spec(inline), None
        raise invalid("a run needs pipeline_version_reference (an uploaded pipeline version) or "
                      "an inline pipeline_spec")

    def create(self, body: dict) -> dict:
        """``POST /runs``: validate, persist, and start the worker."""
        from .worker import PipelineError, prepare_arguments

        name = (body.get("display_name") or "").strip()
        if not name:
            raise invalid("The run name is empty. Please specify a valid name (display_name)")
        runtime = body.get("runtime_config") or {}
        params = runtime.get("parameters") or {}
        if not isinstance(runtime, dict) or not isinstance(params, dict):
            raise invalid("runtime_config.parameters must be an object of name: value")
        doc, ref = self._spec_for(body)
        try:
            from google.protobuf import json_format
            from kfp.pipeline_spec import pipeline_spec_pb2

            spec = json_format.ParseDict(doc["pipeline_spec"], pipeline_spec_pb2.PipelineSpec(),
                                         ignore_unknown_fields=True)
            prepare_arguments(spec, params)
        except PipelineError as exc:
            raise invalid(str(exc)) from None
        with self.store.lock:
            experiment_id = body.get("experiment_id") or ""
            if experiment_id:
                experiment = self.resources._experiment(experiment_id)
            else:
                experiment = self.resources.default_experiment(body.get("namespace") or "")
            if experiment["storage_state"] == "ARCHIVED":
                raise ApiError("FAILED_PRECONDITION",
                               f"Failed to create a run: experiment {experiment['experiment_id']} "
                               "is archived; unarchive it or pick another experiment")
            run_id = str(uuid.uuid4())
            stamp = now()
            record = {
                "run_id": run_id, "display_name": name,
                "description": body.get("description") or "",
                "experiment_id": experiment["experiment_id"], "storage_state": "AVAILABLE",
                "runtime_config": {"parameters": params,
                                   **({"pipeline_root": runtime["pipeline_root"]}
                                      if runtime.get("pipeline_root") else {})},
                "service_account": body.get("service_account") or "",
                "created_at": stamp, "scheduled_at": stamp, "finished_at": None,
                "state": "PENDING", "error": None,
                "state_history": [{"update_time": stamp, "state": "PENDING"}],
                "_namespace": experiment["namespace"], "_inline": ref is None,
            }
            if ref:
                record["pipeline_version_reference"] = ref
            run_dir = self.store.run_dir(run_id)
            atomic_write_json(run_dir / "job.json", {
                "run_id": run_id, "display_name": name, "parameters": params,
                "pipeline_spec": doc["pipeline_spec"], "platform_spec": doc["platform_spec"]})
            self.store.runs[run_id] = record
            experiment["last_run_created_at"] = stamp
            if self._holding():
                record["_held"] = True  # no worker: PENDING until the fault is cleared
            else:
                self._launch(run_id)
            self.store.save()
            return self.view(run_id)

    def view(self, run_id: str, with_spec: bool = True) -> dict:
        """A run as the API returns it, merged with its worker's live progress."""
        record = self._run(run_id)
        run_dir = self.store.run_dir(run_id)
        status = read_json(run_dir / "status.json", {}) or {}
        spec = None
        if with_spec and record.get("_inline"):
            job = read_json(run_dir / "job.json", {}) or {}
            if job.get("pipeline_spec"):
                spec = spec_for_api(job)
        return run_view(public(record), status, spec)

    def get(self, run_id: str) -> dict:
        """``GET /runs/{id}``."""
        self._release_held()
        return self.view(run_id)

    def list(self, query: dict) -> dict:
        """``GET /runs``, by experiment and/or namespace."""
        self._release_held()
        experiment_id, namespace = query.get("experiment_id"), query.get("namespace")
        with self.store.lock:
            ids = [r["run_id"] for r in self.store.runs.values()
                   if (not experiment_id or r["experiment_id"] == experiment_id)
                   and (namespace is None or r.get("_namespace", "") == namespace)]
        items = [self.view(run_id, with_spec=False) for run_id in ids
                 if run_id in self.store.runs]
        page, total, token = paginate(items, query, field_getter("run_id"))
        result: dict[str, Any] = {"total_size": total}
        if page:
            result["runs"] = page
        if token:
            result["next_page_token"] = token
        return result

    def terminate(self, run_id: str) -> dict:
        """``POST /runs/{id}:terminate``: kill the worker's process group; CANCELED."""
        with self.store.lock:
            record = self._run(run_id)
            if record["state"] in FINAL:
                raise ApiError("FAILED_PRECONDITION",
                               f"Failed to terminate run {run_id}: it has already finished "
                               f"({record['state']})")
            if record.get("_cancel"):
                return {}
            record.pop("_held", None)  # a held run is canceled before it ever starts
            record["_cancel"] = True
            record["state"] = "CANCELING"
            record["state_history"].append({"update_time": now(), "state": "CANCELING"})
            pid = record.get("_pid")
            self.store.save()
        if self._worker_alive(pid, run_id):
            self._kill(run_id, pid)
        else:
            self._finalize(run_id, None, None)
        return {}

    def retry(self, run_id: str) -> dict:
        """``POST /runs/{id}:retry``: run a FAILED or CANCELED run again, from the start."""
        with self.store.lock:
            record = self._run(run_id)
            if record["state"] not in ("FAILED", "CANCELED"):
                raise ApiError("FAILED_PRECONDITION",
                               f"Failed to retry run {run_id}: only FAILED or CANCELED runs can "
                               f"be retried, this one is {record['state']}")
            try:
                (self.store.run_dir(run_id) / "status.json").unlink()
            except FileNotFoundError:
                pass
            record.update(state="PENDING", error=None, finished_at=None, _cancel=False)
            record["state_history"].append({"update_time": now(), "state": "PENDING"})
            self._launch(run_id)
            self.store.save()
        return {}

    def set_storage(self, run_id: str, state: str) -> dict:
        """``:archive`` / ``:unarchive``."""
        with self.store.lock:
            self._run(run_id)["storage_state"] = state
            self.store.save()
        return {}

    def delete(self, run_id: str) -> dict:
        """``DELETE /runs/{id}``: stop it if active, then forget it and its files."""
        with self.store.lock:
            record = self._run(run_id)
            pid = record.get("_pid")
            del self.store.runs[run_id]
            self.store.save()
        if self._worker_alive(pid, run_id):
            self._signal(pid, signal.SIGKILL)
            proc = self._procs.get(run_id)
            if proc is not None:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        shutil.rmtree(self.store.run_dir(run_id), ignore_errors=True)
        return {}

    def archive_experiment(self, experiment_id: str, archive: bool) -> dict:
        """Archive (with its runs, as KFP does) or unarchive an experiment."""
        with self.store.lock:
            run_ids = self.resources.set_experiment_storage(
                experiment_id, "ARCHIVED" if archive else "AVAILABLE")
            if archive:
                for run_id in run_ids:
                    self.store.runs[run_id]["storage_state"] = "ARCHIVED"
            self.store.save()
        return {}

    def delete_experiment(self, experiment_id: str) -> dict:
        """Delete an experiment and its runs (active ones are stopped first)."""
        with self.store.lock:
            self.resources.delete_experiment_record(experiment_id)
            run_ids = [r["run_id"] for r in self.store.runs.values()
                       if r["experiment_id"] == experiment_id]
            self.store.save()
        for run_id in run_ids:
            self.delete(run_id)
        return {}

    def task_outputs(self, run_id: str) -> dict:
        """Sandbox extension: every task's state, inputs, outputs and log location."""
        view = self.view(run_id, with_spec=False)
        tasks = []
        for task in (view.get("run_details") or {}).get("task_details") or []:
            extra = task.get("sandbox") or {}
            tasks.append({"task_id": task["task_id"], "display_name": task["display_name"],
                          "state": task["state"], **extra})
        return {"run_id": run_id, "state": view["state"], "tasks": tasks}

    def task_log(self, run_id: str, task: str) -> str:
        """Sandbox extension: the log of one task, by key, display name or task id."""
        self._run(run_id)
        status = read_json(self.store.run_dir(run_id) / "status.json", {}) or {}
        for key, entry in (status.get("tasks") or {}).items():
            if task in (key, entry.get("display_name"), entry.get("task_id")):
                try:
                    return Path(entry["log"]).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    return ""
        raise not_found("Task", f"{task} of run {run_id}")
