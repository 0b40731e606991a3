"""Benchmark resuming after a crash: SIGKILL ``labwiz run --sandbox --yes`` as the compile step
starts, then measure how long a resumed run takes to get back to running that step, and how many
bytes of unchanged data it uploads again (S3 objects whose LastModified moved, in a fresh sandbox).

Prints one JSON line per figure (see bench/common.py) and exits 0.
Run: ``.venv/bin/python -m bench.bench_resume``. Takes about a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = "run-monitoring,endpoint-test,cleanup"
ROUNDS = 5


def _env() -> dict:
    """A clean environment for labwiz (no host AWS or labwiz settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABWIZ_", "AWS_", "KUBECONFIG"))}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    return env


def _events(state: Path) -> list[dict]:
    """The event log (a torn last line is skipped)."""
    out = []
    path = state / "events.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def _run_until(state: Path, step: str, timeout: float = 300) -> float:
    """Start ``labwiz run``, SIGKILL it once ``step`` has started; seconds from start to that."""
    from bench.common import labwiz_cmd

    seen = len(_events(state))
    started = time.perf_counter()
    proc = subprocess.Popen([*labwiz_cmd(), "--state-dir", str(state), "run", "--sandbox", "--yes",
                             "--skip", SKIP], env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.perf_counter() - started < timeout:
            if any(e.get("event") == "step.started" and e.get("step") == step
                   for e in _events(state)[seen:]):
                return time.perf_counter() - started
            if proc.poll() is not None:
                raise SystemExit(f"labwiz ended (code {proc.returncode}) before '{step}' started")
            time.sleep(0.005)
        raise SystemExit(f"'{step}' did not start within {timeout} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _objects(info: dict) -> dict:
    """The lab's data objects in the sandbox bucket: key -> (LastModified, size)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=info["services"]["aws"]["url"], region_name=info["region"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    listing = s3.list_objects_v2(Bucket=info["bucket"], Prefix="lab1/").get("Contents", [])
    return {o["Key"]: (o["LastModified"].isoformat(), o["Size"]) for o in listing}


def main() -> int:
    """Crash, resume ROUNDS times, then finish; print the figures."""
    from bench.common import labwiz_cmd, median, report

    with tempfile.TemporaryDirectory(prefix="labwiz-bench-resume-") as tmp:
        state = Path(tmp) / "lab"
        up = subprocess.run([*labwiz_cmd(), "--state-dir", str(state), "sandbox", "up"], env=_env(),
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
        if up.returncode != 0:
            raise SystemExit(up.stdout + up.stderr)
        try:
            info = json.loads((state / "sandbox" / "sandbox.json").read_text())
            _run_until(state, "compile")  # steps 1-4 done, killed as compile starts
            before = _objects(info)
            uploads_before = sum(1 for e in _events(state) if e.get("kind") == "s3-object")
            times = [_run_until(state, "compile") for _ in range(ROUNDS)]
            done = subprocess.run([*labwiz_cmd(), "--state-dir", str(state), "run", "--sandbox",
                                   "--yes", "--skip", SKIP], env=_env(), cwd=ROOT,
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                raise SystemExit(done.stdout[-3000:])
            after = _objects(info)
            reuploaded = sum(size for key, (modified, size) in before.items()
                             if after.get(key, ("gone", 0))[0] != modified)
            # Upload events for data-upload's objects written after the first crash.
            again = sum(1 for e in _events(state) if e.get("kind") == "s3-object"
                        and e.get("step") == "data-upload") - uploads_before
        finally:
            subprocess.run([*labwiz_cmd(), "--state-dir", str(state), "sandbox", "down"], env=_env(),
                           cwd=ROOT, capture_output=True, timeout=120)
    report("resume after SIGKILL: start to the interrupted step running", median(times), "s",
           target="<= 2", runs=ROUNDS, worst=round(max(times), 3))
    report("resume after SIGKILL: bytes of unchanged data uploaded again", reuploaded, "B",
           target="== 0", objects_checked=len(before))
    report("resume after SIGKILL: data-upload upload events after the crash", again, "count",
           target="== 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
