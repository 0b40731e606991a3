"""Write a support bundle: collect every part, redact it, and pack one ``.tar.gz``.

Layout inside the archive (under one top directory ``labwiz-bundle-<stamp>/``): ``manifest.json``,
``redactions.json``, ``versions.json``, ``doctor.json``, ``state.json``, ``events.jsonl``,
``labwiz.log``, ``kubernetes/``, ``kfp/``, ``sagemaker/``, ``logs/``, ``sandbox/``.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from wizard.target import Target

BUNDLE_FORMAT = "labwiz-bundle"
FORMAT_VERSION = 1


@dataclass
class BundleResult:
    """Where a bundle was written and what went into it."""

    path: Path
    files: list[str]
    redactions: list[dict]
    notes: list[dict] = field(default_factory=list)
    doctor: list[dict] = field(default_factory=list)
    redacted: bool = True


def _out_path(out: str | os.PathLike | None, stamp: str) -> Path:
    """``--out``: a directory (the bundle goes inside) or a file name; default the cwd."""
    name = f"labwiz-bundle-{stamp}.tar.gz"
    if out is None:
        return Path.cwd() / name
    path = Path(out).expanduser()
    if path.is_dir() or str(out).endswith(os.sep):
        return path / name
    if not path.name.endswith((".tar.gz", ".tgz")):
        path = path.with_name(path.name + ".tar.gz")
    return path


def write_bundle(state_dir: Path, target: Target | None = None, out=None, *, redact: bool = True,
                 run_doctor: bool = True,
                 progress: Callable[[str], None] | None = None) -> BundleResult:
    """Collect the lab's support bundle into one archive and return where it is.

    ``target`` defaults to what the state says (the sandbox is not started for a bundle).
    Services that do not answer are noted in the manifest; the bundle is written regardless.
    """
    from wizard import __version__
    from wizard.bundle import collect
    from wizard.bundle.redact import Redactor
    from wizard.doctor.context import DoctorContext
    from wizard.doctor.runner import doctor_target, run_checks
    from wizard.errors import InputError
    from wizard.state import StateStore, new_document

    state_dir = Path(state_dir)
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = _out_path(out, stamp)
    if not path.parent.is_dir():
        raise InputError(f"Cannot write the bundle to {path}: {path.parent} is not a directory.",
                         remediation="Give --out an existing directory, or a file name in one.")
    redactor = Redactor(enabled=redact)
    col = collect.Collector(redactor)
    say("reading the state directory")
    collect.local_files(col, state_dir)
    col.add_json("versions.json", collect.versions())
    try:
        doc = StateStore(state_dir).load()
    except Exception as exc:  # noqa: BLE001 - a broken state is what support wants to see
        col.note("state", f"the state could not be loaded: {exc}")
        doc = new_document()
    if target is None:
        try:
            target = doctor_target(state_dir)
        except Exception as exc:  # noqa: BLE001
            col.note("target", f"could not work out the target: {exc}")
            target = Target(mode="aws")
    ctx = DoctorContext(state_dir, target, doc)
    results = []
    if run_doctor:
        say("running the doctor")
        try:
            results = [r.to_dict() for r in run_checks(state_dir, target)]
            col.add_json("doctor.json", {"results": results})
        except Exception as exc:  # noqa: BLE001
            col.note("doctor.json", f"the doctor could not run: {exc}")
    say("reading the cluster")
    collect.kubernetes_parts(col, ctx)
    say("reading Kubeflow Pipelines")
    collect.kfp_parts(col, ctx)
    say("reading SageMaker and CloudWatch")
    collect.sagemaker_parts(col, ctx)
    collect.sandbox_parts(col, ctx)
    report = redactor.report()
    col.add_json("redactions.json", {"enabled": redact, "hidden": report})
    manifest = {
        "format": BUNDLE_FORMAT, "format_version": FORMAT_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "labwiz_version": __version__, "state_dir": str(state_dir),
        "target": target.describe(), "redacted": redact,
        "files": [{"name": n, "bytes": len(b)} for n, b in sorted(col.files.items())],
        "notes": col.notes, "collect_seconds": round(time.monotonic() - started, 2),
    }
    col.files["manifest.json"] = (json.dumps(redactor.obj(manifest, "manifest.json"), indent=2)
                                  + "\n").encode()
    _pack(path, f"labwiz-bundle-{stamp}", col.files)
    return BundleResult(path, sorted(col.files), report, col.notes, results, redact)


def _pack(path: Path, root: str, files: dict[str, bytes]) -> None:
    """Write the archive atomically, readable by its owner only."""
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ["manifest.json"] + sorted(n for n in files if n != "manifest.json"):
            data = files[name]
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mtime, info.mode = len(data), now, 0o600
            info.uname = info.gname = "labwiz"
            tar.addfile(info, io.BytesIO(data))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, buf.getvalue())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
