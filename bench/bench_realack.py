"""Benchmark the real ACK SageMaker controller in the sandbox: its build (cold and cached), its
start, and the whole lab with it against the whole lab with the builtin controller, in one run;
peak memory of the sandbox with it.

Prints one JSON line per figure (see bench/common.py) and exits 0. Needs the controller binary
(`labwiz sandbox build-ack`, or LABWIZ_ACK_CONTROLLER) and its CRDs (labwiz's cache or
LABWIZ_ACK_CRDS); without them it prints why and measures nothing else. Takes 10-15 minutes.
Run: ``.venv/bin/python -m bench.bench_realack``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: where a by-hand build's `time` output may be (a build outside labwiz, for the cold figure)
HAND_BUILD_TIME = Path(os.environ.get("LABWIZ_ACK_BUILD_TIME_FILE", "/tmp/ackbuild.time"))
SHARED_CRDS = ROOT.parent / "shared" / "ack-crds" / "v1.9.1"


def _env(ack: str) -> dict[str, str]:
    """The environment of a labwiz run: nothing of the caller's AWS or labwiz settings but the
    real controller's location."""
    keep = ("LABWIZ_ACK_CONTROLLER", "LABWIZ_ACK_CRDS", "LABWIZ_ACK_CACHE")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABWIZ_", "AWS_")) or k in keep}
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    env["LABWIZ_SANDBOX_ACK"] = ack
    if "LABWIZ_ACK_CRDS" not in env and SHARED_CRDS.is_dir():
        env["LABWIZ_ACK_CRDS"] = str(SHARED_CRDS)
    return env


def _labwiz(state: Path, ack: str, *args: str, timeout: float = 1500) -> float:
    """Run one labwiz command; its wall time (fails loudly on error)."""
    from bench.common import labwiz_cmd

    began = time.perf_counter()
    done = subprocess.run([*labwiz_cmd(), "--state-dir", str(state), *args], env=_env(ack),
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"labwiz {' '.join(args)} failed with code {done.returncode}")
    return time.perf_counter() - began


def _hand_build_seconds() -> float | None:
    """The wall time in a `time` output (``real 7m3.809s``), if there is one."""
    try:
        match = re.search(r"real\s+(\d+)m([\d.]+)s", HAND_BUILD_TIME.read_text())
    except OSError:
        return None
    return int(match[1]) * 60 + float(match[2]) if match else None


def _build_figures() -> bool:
    """Cold and cached build figures; False when there is no controller to run."""
    from bench.common import report
    from wizard.sandbox import realack

    with tempfile.TemporaryDirectory() as tmp:  # cold: an empty cache, through the proxy
        os.environ[realack.ENV_CACHE] = tmp
        try:
            began = time.perf_counter()
            realack.build(progress=lambda line: None)
            report("real ACK: cold build (go install through the module proxy)",
                   time.perf_counter() - began, "s")
        except realack.RealAckError as exc:
            report("real ACK: cold build (go install through the module proxy)", 0, "s",
                   note=f"not measurable here: {exc.message[:160]}")
        finally:
            os.environ.pop(realack.ENV_CACHE)
    hand = _hand_build_seconds()
    if hand is not None:
        report("real ACK: cold build by hand from the module's source (go build, outside "
               "labwiz; dependencies from the proxy)", hand, "s", source=str(HAND_BUILD_TIME))
    if realack.find_binary() is None:
        print(json.dumps({"skipped": "no real ACK controller binary: "
                                     + realack.missing_message()}))
        return False
    from bench.common import labwiz_cmd

    times = []
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run([*labwiz_cmd(), "sandbox", "build-ack"], env=_env("real"), cwd=ROOT,
                       capture_output=True, check=True)
        times.append(time.perf_counter() - began)
    report("real ACK: cached build (labwiz sandbox build-ack, reused)", min(times), "s",
           runs=len(times))
    return True


def _controller_start(state: Path) -> float | None:
    """Seconds from the controller's process start until its /healthz answered (its log)."""
    log = (state / "sandbox" / "daemon.log").read_text(errors="replace")
    found = re.findall(r"real controller healthy after ([\d.]+) s", log)
    return float(found[-1]) if found else None


def _whole_lab(ack: str, tmp: Path) -> None:
    """`labwiz run --sandbox --yes` from an empty sandbox to cleaned up, with ``ack``."""
    from bench.common import report, tree_memory_mib

    state = tmp / f"lab-{ack}"
    try:
        up = _labwiz(state, ack, "sandbox", "up", "--ack", ack, "--timeout", "240")
        report(f"{ack} ACK: sandbox up (empty state dir to healthy)", up, "s")
        started = _controller_start(state)
        if ack == "real" and started is not None:
            report("real ACK: controller process start to /healthz", started, "s")
        whole = _labwiz(state, ack, "run", "--sandbox", "--yes")
        report(f"{ack} ACK: whole lab (labwiz run --sandbox --yes, through cleanup)", whole,
               "s", measured_at=datetime.now().isoformat(timespec="seconds"))
        pid = json.loads((state / "sandbox" / "sandbox.json").read_text())["pid"]
        report(f"{ack} ACK: peak memory of the sandbox (daemon, controller, live workers)",
               tree_memory_mib(pid, "VmHWM"), "MiB")
    finally:
        _labwiz(state, ack, "sandbox", "down", timeout=120)


def main() -> int:
    """Measure and print the figures."""
    import warnings

    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore")
    if not _build_figures():
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for ack in ("builtin", "real"):
            _whole_lab(ack, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
