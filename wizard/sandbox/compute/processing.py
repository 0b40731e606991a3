"""Processing jobs: the job's own script, run with python on this machine.

The image must be SageMaker's scikit-learn processing image (``.../sagemaker-scikit-learn:<tag>``,
any region) or a plain python image (``python:<tag>``): both run a python script, which this
machine can do. Paths under ``/opt/ml`` are the container's; the sandbox gives each job its own
folder standing in for ``/opt/ml`` and

* rewrites ``/opt/ml/...`` in the entrypoint and arguments (also after ``=`` as in
  ``--input=/opt/ml/...``) to that folder, and
* sets ``SM_PROCESSING_ROOT`` to it, for scripts that build paths themselves (the lab's
  preprocessing script honours it and keeps ``/opt/ml`` as its default, so it runs unchanged in
  SageMaker).

Inputs are downloaded before the script starts; outputs uploaded after it ends well. The script's
output goes to CloudWatch Logs ``/aws/sagemaker/ProcessingJobs``, stream ``<job>/algo-1-<epoch>``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from ...kmeans_images import parse_ecr_image
from .cwlogs import LogStream
from .s3io import JobFailure, client, download_prefix, upload_dir
from .worker import Emitter

CONTAINER_ROOT = "/opt/ml"
ROOT_ENV = "SM_PROCESSING_ROOT"
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_RUNNABLE_REPOS = ("sagemaker-scikit-learn", "python")


def check_image(image: str) -> None:
    """Fail unless the image runs python scripts (SageMaker scikit-learn or python)."""
    ref = parse_ecr_image(image or "")
    repo = ref.repository if ref else (image or "").split(":", 1)[0]
    if repo.rsplit("/", 1)[-1] not in _RUNNABLE_REPOS:
        raise JobFailure(
            f"ClientError: The processing image '{image}' is not one this sandbox can run. It runs "
            "python scripts in SageMaker's scikit-learn processing image "
            "(<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-scikit-learn:<version>) or a "
            "python image (python:<version>)."
        )


def to_local(path: str, root: Path) -> Path:
    """The job folder's path for a container path under /opt/ml; others are refused."""
    norm = os.path.normpath(path)
    if norm != CONTAINER_ROOT and not norm.startswith(CONTAINER_ROOT + "/"):
        raise JobFailure(f"ClientError: LocalPath '{path}' is not under /opt/ml/processing; "
                         "SageMaker requires processing paths there.")
    return root / os.path.relpath(norm, CONTAINER_ROOT)


def rewrite_arg(arg: str, root: Path) -> str:
    """An argument with a leading (or after '=') /opt/ml path moved into the job folder."""
    if arg == CONTAINER_ROOT or arg.startswith(CONTAINER_ROOT + "/"):
        return str(root) + arg[len(CONTAINER_ROOT):]
    key, sep, value = arg.partition("=")
    if sep and (value == CONTAINER_ROOT or value.startswith(CONTAINER_ROOT + "/")):
        return key + "=" + str(root) + value[len(CONTAINER_ROOT):]
    return arg


def command(req: dict, root: Path) -> list[str]:
    """The argv to run: python (this machine's) plus the rewritten script and arguments."""
    app = req.get("AppSpecification") or {}
    entry = list(app.get("ContainerEntrypoint") or [])
    if not entry:
        raise JobFailure("ClientError: AppSpecification has no ContainerEntrypoint. Give the "
                         "script to run, e.g. ['python3', '/opt/ml/processing/input/code/x.py'].")
    if not _PYTHON.match(os.path.basename(entry[0])):
        raise JobFailure(f"ClientError: The entrypoint '{entry[0]}' is not python; the sandbox "
                         "runs python processing scripts only.")
    rest = entry[1:] + list(app.get("ContainerArguments") or [])
    return [sys.executable] + [rewrite_arg(arg, root) for arg in rest]


def run_processing(task: dict, emit: Emitter) -> dict:
    """Download inputs, run the script, upload outputs; the result names what was written."""
    log = LogStream(client(task, "logs"), "/aws/sagemaker/ProcessingJobs",
                    f"{task['name']}/algo-1-{int(time.time())}")
    try:
        return _process(task, emit, log)
    except JobFailure as failure:
        log.write(f"[sandbox] job failed: {failure.reason}")
        raise
    finally:
        log.flush()


def _run_script(argv: list[str], env: dict, cwd: Path, log: LogStream, limit: float | None):
    """Run the script, streaming its output to the log; (exit code, last lines, timed out)."""
    tail: deque[str] = deque(maxlen=20)
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    deadline = time.monotonic() + limit if limit else None
    timed_out = False
    assert proc.stdout is not None
    for line in proc.stdout:
        log.write(line)
        tail.append(line.rstrip("\n"))
        if deadline and time.monotonic() > deadline:
            timed_out = True
            proc.kill()
            break
    try:
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()) if deadline else None)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        code = proc.wait()
    return code, list(tail), timed_out


def _process(task: dict, emit: Emitter, log: LogStream) -> dict:
    """The body of :func:`run_processing`."""
    req = task["request"]
    check_image((req.get("AppSpecification") or {}).get("ImageUri", ""))
    root = Path(task["work_dir"]) / "opt_ml"
    root.mkdir(parents=True, exist_ok=True)
    argv = command(req, root)
    s3 = client(task, "s3")
    for item in req.get("ProcessingInputs") or []:
        source = item.get("S3Input")
        if not source:
            raise JobFailure(f"ClientError: Input '{item.get('InputName')}' has no S3Input; the "
                             "sandbox supports S3 inputs only.")
        local = to_local(source["LocalPath"], root)
        log.write(f"[sandbox] downloading {source['S3Uri']} to {source['LocalPath']}")
        download_prefix(task, s3, source["S3Uri"], local, req["RoleArn"])
    outputs = (req.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for item in outputs:
        if item.get("S3Output"):
            to_local(item["S3Output"]["LocalPath"], root).mkdir(parents=True, exist_ok=True)
    emit.next_phase()
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update({str(k): str(v) for k, v in (req.get("Environment") or {}).items()})
    env[ROOT_ENV] = str(root)
    env["PYTHONUNBUFFERED"] = "1"
    limit = (req.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    log.write(f"[sandbox] running: {' '.join(argv)}")
    code, tail, timed_out = _run_script(argv, env, root, log, limit)
    if timed_out:
        raise JobFailure(f"ClientError: The job ran longer than MaxRuntimeInSeconds ({limit}) "
                         "and was stopped.")
    if code != 0:
        message = "\n".join(tail)[-1024:]
        raise JobFailure("AlgorithmError: See job logs for more information",
                         exit_message=message or f"the script exited with code {code}")
    emit.next_phase()
    written = []
    for item in outputs:
        target = item.get("S3Output")
        if not target:
            raise JobFailure(f"ClientError: Output '{item.get('OutputName')}' has no S3Output; "
                             "the sandbox supports S3 outputs only.")
        local = to_local(target["LocalPath"], root)
        written += upload_dir(task, s3, local, target["S3Uri"])
    log.write(f"[sandbox] uploaded {len(written)} file(s)")
    return {"outputs": written}
