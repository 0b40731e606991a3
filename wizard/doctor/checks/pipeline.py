"""The pipeline's code: kfp SDK v1 habits that break in a Kubeflow Pipelines v2 environment."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

from wizard.doctor.context import DoctorContext
from wizard.doctor.model import Skip, check, fail, ok

DOC_MIGRATE = "https://www.kubeflow.org/docs/components/pipelines/user-guides/migration/"

#: (pattern, what it is, what to use in v2)
V1_HABITS = [
    (re.compile(r"^\s*(?:from\s+kfp\s+import\s+aws\b|import\s+kfp\.aws\b|from\s+kfp\.aws\b)|"
                r"\bkfp\.aws\.", re.M),
     "kfp.aws (use_aws_secret)", "set credentials with IRSA or kfp-kubernetes' "
     "use_secret_as_env"),
    (re.compile(r"\bfunc_to_container_op\b|\bcreate_component_from_func\b"),
     "kfp.components.func_to_container_op", "@dsl.component"),
    (re.compile(r"\bdsl\.ContainerOp\b|\bContainerOp\s*\("),
     "dsl.ContainerOp", "@dsl.container_component or a component YAML"),
    (re.compile(r"\bdsl-compile\b"), "the dsl-compile command",
     "kfp dsl compile --py FILE --output FILE.yaml"),
    (re.compile(r"\bload_component_from_(?:url|file)\b.*\n?.*\.apply\(", re.M),
     "op.apply(...) on a v1 component", "task methods such as set_env_variable"),
    (re.compile(r"\bdsl\.PipelineParam\b|\bkfp\.dsl\.types\b"), "v1 pipeline parameter types",
     "Python type annotations on the pipeline function"),
]
#: a compiled v1 package is an Argo Workflow; v2 packages are pipeline IR YAML
ARGO = re.compile(r"apiVersion:\s*argoproj\.io/v1alpha1|\"apiVersion\":\s*\"argoproj\.io")
SCANNED = (".py", ".ipynb", ".sh", ".yaml", ".yml", ".json", ".txt", "Makefile")


def _texts(path: Path):
    """(name, text) of each scannable file at ``path`` (a file, directory or package archive)."""
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and (child.suffix in SCANNED or child.name in SCANNED) \
                    and ".venv" not in child.parts and child.stat().st_size < 2_000_000:
                yield str(child), child.read_text(errors="replace")
        return
    if path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.size < 5_000_000:
                    data = tar.extractfile(member).read().decode("utf-8", "replace")
                    yield f"{path}:{member.name}", data
        return
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                yield f"{path}:{name}", io.TextIOWrapper(zf.open(name), errors="replace").read()
        return
    yield str(path), path.read_text(errors="replace")


def pipeline_files(ctx: DoctorContext) -> list[Path]:
    """The pipeline files to scan: those given to the doctor, then those the state records."""
    paths = list(ctx.pipeline_paths)
    for key in ("package_path", "source_path", "pipeline_path"):
        value = ctx.outputs("compile").get(key) or (ctx.doc.get("inputs") or {}).get(key)
        if value:
            paths.append(Path(value))
    out_dir = ctx.outputs("component-generation").get("out_dir")
    if out_dir:
        paths.append(Path(out_dir))
    return paths


def kfp_major() -> int | None:
    """The installed kfp SDK's major version."""
    from importlib import metadata

    try:
        return int(metadata.version("kfp").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


@check("kfp-v2-pipeline", "Pipeline written for the kfp v2 SDK", area="kfp",
       doc_url=DOC_MIGRATE)
def kfp_v2_pipeline(ctx: DoctorContext):
    """No kfp SDK v1 import, op or compile habit in the pipeline's files or package."""
    paths = pipeline_files(ctx)
    if not paths:
        raise Skip("no pipeline file is given (--pipeline PATH) or recorded yet")
    major = kfp_major()
    hits, missing, scanned = [], [], 0
    for path in paths:
        if not path.exists():
            missing.append(str(path))
            continue
        try:
            for name, text in _texts(path):
                scanned += 1
                if ARGO.search(text):
                    hits.append((name, "a v1 package (an Argo Workflow)", "kfp dsl compile "
                                 "with the v2 SDK, which writes pipeline IR YAML"))
                for pattern, what, instead in V1_HABITS:
                    match = pattern.search(text)
                    if match:
                        line = text[:match.start()].count("\n") + 1
                        hits.append((f"{name}:{line}", what, instead))
        except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
            missing.append(f"{path} ({exc})")
    env = f"kfp {major}.x is installed" if major else "kfp is not installed"
    if hits:
        shown = "; ".join(f"{where}: {what}" for where, what, _ in hits[:5])
        more = f" (and {len(hits) - 5} more)" if len(hits) > 5 else ""
        fixes = "; ".join(sorted({f"{what} -> {instead}" for _, what, instead in hits}))
        return fail(f"kfp SDK v1 code found while {env}: {shown}{more}.",
                    f"Port it to the v2 SDK: {fixes}. Then compile with 'kfp dsl compile' (or "
                    "kfp.compiler.Compiler().compile(...)).")
    if missing and not scanned:
        return fail(f"Pipeline file(s) not found: {', '.join(missing)}.",
                    "Give the right path with --pipeline, or re-run the compile step.")
    return ok(f"{scanned} file(s) scanned, no kfp v1 habit ({env}).")
