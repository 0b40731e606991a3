"""Compile the lab pipeline to a package, check a package, and hash it.

The archive is written reproducibly (fixed mtimes, sorted members, gzip without a timestamp),
so the same pipeline always gives the same bytes: the SHA-256 decides whether S3 and Kubeflow
Pipelines already hold it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from wizard.errors import InputError

PACKAGE_BASENAME = "mnist_classification_pipeline"


def compile_package(components: dict, out_dir: Path, *, region: str, bucket: str, role_arn: str,
                    prefix: str = "lab1", lineage: str = "") -> tuple[Path, Path]:
    """Compile the pipeline to ``<out>/<name>.yaml`` and ``<out>/<name>.tar.gz``; both paths.

    ``lineage`` is the default of the pipeline's lineage parameter, so a run started from the
    KFP UI labels what it creates with the lab's lineage too.
    """
    from kfp import compiler

    from assets.pipeline.mnist_pipeline import PipelineDefinitionError, build_pipeline

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    yaml_path = out_dir / f"{PACKAGE_BASENAME}.yaml"
    try:
        pipeline = build_pipeline(components, region=region, bucket=bucket, role_arn=role_arn,
                                  prefix=prefix, lineage=lineage)
    except PipelineDefinitionError as exc:
        raise InputError(f"The pipeline cannot be built: {exc}.",
                         remediation="Run 'labwiz reset --to component-generation' and run "
                         "the lab again.") from None
    compiler.Compiler().compile(pipeline_func=pipeline, package_path=str(yaml_path))
    tar_path = out_dir / f"{PACKAGE_BASENAME}.tar.gz"
    write_archive(yaml_path, tar_path)
    return yaml_path, tar_path


def write_archive(yaml_path: Path, tar_path: Path) -> None:
    """A ``.tar.gz`` holding ``pipeline.yaml`` (what ``dsl-compile`` writes), byte-reproducible."""
    data = Path(yaml_path).read_bytes()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("pipeline.yaml")
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        tar.addfile(info, io.BytesIO(data))
    tmp = Path(str(tar_path) + ".tmp")
    with open(tmp, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0,
                                             filename="") as gz:
        gz.write(raw.getvalue())
    tmp.replace(tar_path)


def read_spec(path: Path) -> dict:
    """The pipeline spec in a package (YAML/JSON or a ``.tar.gz``/``.tgz`` holding one).

    Raises :class:`InputError` when the file is not a KFP v2 pipeline package.
    """
    from wizard.yamlload import safe_load_all

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist.", remediation="Run the compile step first.")
    try:
        if path.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path, "r:gz") as tar:
                member = next((m for m in tar.getmembers() if m.isfile()
                               and m.name.endswith((".yaml", ".yml", ".json"))), None)
                if member is None:
                    raise ValueError("the archive holds no .yaml or .json file")
                text = tar.extractfile(member).read().decode()
        else:
            text = path.read_text()
        docs = safe_load_all(text)  # libyaml when PyYAML has it
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a package"
        raise InputError(f"{path} is not a pipeline package ({type(exc).__name__}: {exc}).",
                         remediation="Compile the pipeline with the compile step (or "
                         "'kfp dsl compile') and use the .yaml or .tar.gz it writes.") from None
    spec = docs[0] if docs else None
    if not isinstance(spec, dict) or "root" not in spec or "pipelineInfo" not in spec:
        raise InputError(f"{path} is not a KFP v2 pipeline package (no pipelineInfo/root).",
                         remediation="Compile the pipeline with the compile step (or "
                         "'kfp dsl compile') and use the .yaml or .tar.gz it writes.")
    return spec


def check_spec(spec: dict, tasks: tuple, parameters: dict) -> None:
    """Refuse a spec that lacks one of the expected task display names or parameters."""
    dag = spec.get("root", {}).get("dag", {}).get("tasks", {})
    names = {task.get("taskInfo", {}).get("name", key) for key, task in dag.items()}
    missing_tasks = [t for t in tasks if t not in names]
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    missing_params = [p for p in parameters if p not in declared]
    if missing_tasks or missing_params:
        raise InputError(
            "The compiled pipeline is incomplete: "
            + (f"tasks missing: {', '.join(missing_tasks)}; " if missing_tasks else "")
            + (f"parameters missing: {', '.join(missing_params)}" if missing_params else ""),
            remediation="Regenerate the components (labwiz reset --to component-generation).")


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
