"""Reading pipeline packages: compiled YAML/JSON, or a .tar.gz/.tgz/.zip holding one.

The KFP server accepts the same package shapes the SDK's compiler and ``dsl-compile`` write. A
package holds one pipeline spec document, optionally followed by a platform spec document (the
Kubernetes settings). Anything else is refused with InvalidArgument and a hint on what to upload.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from typing import Any

from .errors import invalid

_HINT = ("compile the pipeline with the kfp 2.x compiler (`kfp dsl compile --py FILE --output "
         "pipeline.yaml`, or kfp.compiler.Compiler().compile(...)) and upload the YAML it writes")


def _choose_member(names: list[str]) -> str:
    """The pipeline document inside an archive, chosen as the SDK chooses it."""
    candidates = [n for n in names if n.endswith((".yaml", ".yml", ".json"))]
    if not candidates:
        raise invalid(f"the archive holds no .yaml or .json pipeline file; {_HINT}")
    for preferred in ("pipeline.yaml", "pipeline.json"):
        if preferred in candidates:
            return preferred
    if len(candidates) > 1:
        raise invalid("the archive holds several pipeline files "
                      f"({', '.join(sorted(candidates))}); keep one, or name it pipeline.yaml")
    return candidates[0]


def _unpack(data: bytes) -> bytes:
    """The pipeline document's bytes, unpacking an archive when ``data`` is one."""
    if data[:2] == b"\x1f\x8b":
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                members = {m.name: m for m in tar.getmembers() if m.isfile()}
                handle = tar.extractfile(members[_choose_member(list(members))])
                return handle.read() if handle else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise invalid(f"the uploaded file is gzip data but not a readable .tar.gz ({exc}); "
                          f"{_HINT}") from None
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return zf.read(_choose_member(zf.namelist()))
        except zipfile.BadZipFile as exc:
            raise invalid(f"the uploaded .zip cannot be read ({exc}); {_HINT}") from None
    return data


def parse_package(data: bytes) -> dict:
    """Parse package bytes into a document ``{"pipeline_spec": {...}, "platform_spec": {...}}``.

    Raises InvalidArgument (as the real server does) when the bytes are not a KFP v2 pipeline.
    """
    import yaml

    from wizard.yamlload import safe_load_all

    if not data or not data.strip():
        raise invalid(f"the uploaded pipeline file is empty; {_HINT}")
    raw = _unpack(data)
    try:
        docs = safe_load_all(raw.decode("utf-8"))  # libyaml when PyYAML has it
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise invalid(f"the uploaded file is not YAML or JSON ({first}); {_HINT}") from None
    if not docs:
        raise invalid(f"the uploaded pipeline file holds no document; {_HINT}")
    spec = docs[0]
    platform: dict = {}
    for extra in docs[1:]:
        if isinstance(extra, dict):
            platform.update(extra)
    return validate_spec(spec, platform)


def validate_spec(spec: Any, platform: Any = None) -> dict:
    """Check that ``spec`` is a KFP v2 PipelineSpec; return the normalised document."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    if isinstance(spec, dict) and "pipeline_spec" in spec and platform is None:
        spec, platform = spec["pipeline_spec"], spec.get("platform_spec")
    if not isinstance(spec, dict):
        raise invalid(f"the pipeline file is not a pipeline spec (a mapping was expected); {_HINT}")
    if spec.get("kind") == "Workflow" or "apiVersion" in spec:
        raise invalid("this is a KFP v1 (Argo Workflow) package; the server runs v2 pipeline "
                      f"specs only: {_HINT}")
    missing = [k for k in ("pipelineInfo", "root") if k not in spec]
    if missing:
        raise invalid(f"the file is not a KFP pipeline spec (missing {', '.join(missing)}); "
                      f"{_HINT}")
    try:
        message = json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
        if platform:
            json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise invalid(f"the pipeline spec does not parse: {exc}; {_HINT}") from None
    if not message.pipeline_info.name:
        raise invalid(f"the pipeline spec has no pipelineInfo.name; {_HINT}")
    return {"pipeline_spec": spec, "platform_spec": platform or {}}


def spec_for_api(doc: dict) -> dict:
    """The ``pipeline_spec`` value the API returns: bare, or with its platform spec."""
    if doc.get("platform_spec"):
        return {"pipeline_spec": doc["pipeline_spec"], "platform_spec": doc["platform_spec"]}
    return doc["pipeline_spec"]


