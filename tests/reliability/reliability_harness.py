"""A crash harness: start ``labwiz run --sandbox --yes`` as a real process, SIGKILL it when a
chosen point is reached (an event in ``events.jsonl`` or a line on its screen), then resume.

It also takes an inventory of what a lab owns in the sandbox (IAM, S3, Kubernetes, KFP) so a
crashed-and-resumed lab can be compared with an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import ROOT, labwiz_env

# Steps 1-6: everything before the long pipeline run (kept short so the matrix stays fast).
FIRST_SIX = ["credentials", "data-upload", "crd-selection", "component-generation", "compile",
             "upload"]
SKIP_LONG = "run-monitoring,endpoint-test,cleanup"


def read_events(lab: Path) -> list[dict]:
    """The lab's event log as dicts (a torn last line, from a SIGKILL, is ignored)."""
    path = lab / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def run_and_kill(lab: Path, args: list[str], *, event: dict | None = None,
                 screen: str | None = None, timeout: float = 240) -> dict:
    """Run ``labwiz run`` and SIGKILL it at the first event matching ``event`` (a dict of
    key/values every field must equal) or screen line matching the regex ``screen``.

    Returns ``{"killed": bool, "returncode": int, "output": str}``. ``killed`` is False when the
    run ended before the point was reached (the caller should fail: the kill point is wrong).
    """
    argv = [sys.executable, "-m", "wizard", "--state-dir", str(lab), "run", "--sandbox", "--yes",
            *args]
    proc = subprocess.Popen(argv, env=labwiz_env(), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    hit = threading.Event()
    pattern = re.compile(screen) if screen else None
    # Only events this run writes count: the log keeps every earlier run's events.
    seen = len(read_events(lab))

    def pump():
        # Read the screen on a thread so the process never blocks on a full pipe.
        for line in proc.stdout:
            lines.append(line)
            if pattern and pattern.search(line):
                hit.set()
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    killed = False
    while proc.poll() is None and time.monotonic() < deadline:
        if event and any(all(e.get(k) == v for k, v in event.items()) for e in read_events(lab)[seen:]):
            hit.set()
        if hit.is_set():
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.01)
    if proc.poll() is None and not killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=10)
    return {"killed": killed, "returncode": proc.returncode, "output": "".join(lines)}


def lineage(lab: Path) -> str:
    """The lab's lineage id (names of what it creates carry its first 8 characters)."""
    return json.loads((lab / "state.json").read_text())["lineage"]


def normalise(obj, lab: Path):
    """``obj`` with the lab's own paths and lineage replaced by placeholders, and timestamps
    dropped, so two labs' outputs can be compared."""
    text = json.dumps(obj, sort_keys=True)
    text = text.replace(str(lab), "<LAB>")
    full = lineage(lab)
    text = text.replace(full, "<LINEAGE>").replace(full[:8], "<LIN8>")
    # Run ids and KFP ids are per-lab uuids: keep only their shape.
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<UUID>", text)
    # Content hashes differ between labs (the package embeds the lab's own role ARN).
    text = re.sub(r"\b[0-9a-f]{32,64}\b", "<HASH>", text)
    data = json.loads(text)
    return _drop_times(data)


def _drop_times(obj):
    """Remove keys that hold times or durations (they differ between any two runs)."""
    if isinstance(obj, dict):
        return {k: _drop_times(v) for k, v in obj.items()
                if not (k.endswith("_at") or k in ("duration_s", "ts", "attempts"))}
    if isinstance(obj, list):
        return [_drop_times(v) for v in obj]
    return obj


def inventory(lab: Path, aws, kube, sandbox_info: dict) -> dict:
    """What exists in the sandbox that this lab owns or uses: IAM roles (with their policies)
    tagged with its lineage, IAM users and keys, S3 objects with LastModified, the namespace's
    RBAC objects and service-account annotations, and KFP pipelines, versions and runs."""
    from kubernetes import client as k8s

    lin = lineage(lab)
    iam = aws("iam")
    roles = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = {t["Key"]: t["Value"] for t in
                    iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", [])}
            if tags.get("labwiz:lineage") == lin:
                roles[role["RoleName"]] = {
                    "attached": sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(
                        RoleName=role["RoleName"])["AttachedPolicies"]),
                    "inline": sorted(iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"])}
    users = {}
    for user in iam.list_users()["Users"]:
        keys = iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
        users[user["UserName"]] = len(keys)
    s3 = aws("s3")
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sandbox_info["bucket"]):
        for obj in page.get("Contents", []):
            objects[obj["Key"]] = {"etag": obj["ETag"], "modified": obj["LastModified"].isoformat()}
    ns = sandbox_info["profile_namespace"]
    rbac = k8s.RbacAuthorizationV1Api(kube)
    core = k8s.CoreV1Api(kube)
    sa = core.read_namespaced_service_account(sandbox_info["service_account"], ns)
    kfp = _kfp_inventory(sandbox_info)
    return {
        "roles": roles, "users": users, "objects": objects,
        "k8s_roles": sorted(r.metadata.name for r in rbac.list_namespaced_role(ns).items),
        "k8s_rolebindings": sorted(b.metadata.name for b in
                                   rbac.list_namespaced_role_binding(ns).items),
        "k8s_secrets": sorted(s.metadata.name for s in core.list_namespaced_secret(ns).items),
        "sa_annotations": dict(sa.metadata.annotations or {}),
        **kfp,
    }


def _kfp_inventory(sandbox_info: dict) -> dict:
    """KFP pipelines with their version counts, experiments and runs, read over the REST API."""
    import urllib.request

    base = sandbox_info["services"]["kfp"]["url"]

    def get(path):
        with urllib.request.urlopen(base + path, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    pipelines = {}
    for p in get("/apis/v2beta1/pipelines?page_size=200").get("pipelines", []):
        versions = get(f"/apis/v2beta1/pipelines/{p['pipeline_id']}/versions?page_size=200")
        pipelines[p["display_name"]] = len(versions.get("pipeline_versions", []))
    ns = sandbox_info["profile_namespace"]
    experiments = sorted(e["display_name"] for e in get(
        f"/apis/v2beta1/experiments?page_size=200&namespace={ns}").get("experiments", []))
    runs = len(get(f"/apis/v2beta1/runs?page_size=200&namespace={ns}").get("runs", []))
    return {"kfp_pipelines": pipelines, "kfp_experiments": experiments, "kfp_runs": runs}
