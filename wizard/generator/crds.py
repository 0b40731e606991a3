"""ACK SageMaker CRDs: parsing, and loading them from files or from a cluster.

`CrdInfo` is what the generator and the wizard's CRD-selection step work
with. Loading is strict: a file that is not a CRD, or a CRD of another API
group, is refused with a message naming the file and what it actually is.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from wizard.generator.errors import CrdError, NoCrdsInCluster

ACK_SAGEMAKER_GROUP = "sagemaker.services.k8s.aws"
_BOILERPLATE = re.compile(r"^\w+(Spec|Status)? (defines|is) the (desired|observed) state of ", re.I)


@dataclass(frozen=True)
class CrdInfo:
    """One ACK SageMaker custom resource definition, reduced to what generation needs."""

    kind: str
    plural: str
    group: str
    version: str
    summary: str
    spec_schema: dict[str, Any]
    status_schema: dict[str, Any]
    required: tuple[str, ...]
    source: str
    singular: str = ""
    crd_name: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def file_name(self) -> str:
        """The name the ACK release gives this CRD's file, e.g. sagemaker.services.k8s.aws_trainingjobs.yaml."""
        return f"{self.group}_{self.plural}.yaml"

    @property
    def spec_fields(self) -> dict[str, Any]:
        """Top-level spec properties, by their exact CRD key."""
        return dict(self.spec_schema.get("properties") or {})

    @property
    def status_fields(self) -> dict[str, Any]:
        """Top-level status properties, by their exact CRD key."""
        return dict(self.status_schema.get("properties") or {})


def _summary(schema: dict[str, Any], spec: dict[str, Any], kind: str) -> str:
    """One line describing the kind, skipping kubebuilder's "XSpec defines the desired state" line."""
    for text in (spec.get("description") or "", schema.get("description") or ""):
        for para in re.split(r"\n\s*\n", text):
            line = " ".join(para.split())
            if not line or _BOILERPLATE.match(line) or line.endswith("is the Schema for the " + kind + "s API"):
                continue
            first = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
            return first if len(first) <= 160 else first[:157].rstrip() + "..."
    return f"ACK SageMaker {kind}"


def _pick_version(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The storage version, else the first served one, else the first."""
    for v in versions:
        if v.get("storage"):
            return v
    for v in versions:
        if v.get("served", True):
            return v
    return versions[0] if versions else None


def describe_document(doc: Any) -> str:
    """A short phrase saying what a YAML document is, for error messages."""
    if doc is None:
        return "an empty document"
    if not isinstance(doc, dict):
        return f"a YAML {type(doc).__name__}, not a mapping"
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if kind:
        name = (doc.get("metadata") or {}).get("name")
        return f"a {kind}" + (f" ({api})" if api else "") + (f" named {name}" if name else "")
    return "a YAML mapping with no 'kind' (keys: " + ", ".join(list(map(str, doc))[:5]) + ")"


def parse_crd(doc: Any, source: str) -> CrdInfo:
    """Turn one CRD document (a dict, as YAML or the API gives it) into a CrdInfo.

    Raises CrdError when the document is not a CustomResourceDefinition, is
    not in the ACK SageMaker group, or carries no usable schema.
    """
    if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
        raise CrdError(f"{source}: this is {describe_document(doc)}, not a CustomResourceDefinition. "
                       "Use a CRD file from the ACK sagemaker-controller's config/crd/bases "
                       f"(e.g. {ACK_SAGEMAKER_GROUP}_trainingjobs.yaml).")
    spec = doc.get("spec") or {}
    group = spec.get("group") or ""
    name = (doc.get("metadata") or {}).get("name") or "?"
    if group != ACK_SAGEMAKER_GROUP:
        raise CrdError(f"{source}: CRD {name} belongs to API group '{group}', not {ACK_SAGEMAKER_GROUP}. "
                       "labwiz generates components for ACK SageMaker CRDs only.")
    names = spec.get("names") or {}
    kind, plural = names.get("kind"), names.get("plural")
    if not kind or not plural:
        raise CrdError(f"{source}: CRD {name} has no spec.names.kind/plural; the file looks truncated.")
    chosen = _pick_version(spec.get("versions") or [])
    schema = ((chosen or {}).get("schema") or {}).get("openAPIV3Schema")
    version = (chosen or {}).get("name") or spec.get("version")
    if schema is None:  # apiextensions v1beta1 kept one schema for all versions
        schema = (spec.get("validation") or {}).get("openAPIV3Schema")
    if not schema or not version:
        raise CrdError(f"{source}: CRD {name} has no version with an openAPIV3Schema; cannot see its fields.")
    props = schema.get("properties") or {}
    spec_schema = props.get("spec") or {}
    if not spec_schema.get("properties"):
        raise CrdError(f"{source}: CRD {name} ({kind}) has no spec properties; nothing to generate inputs from.")
    return CrdInfo(
        kind=kind, plural=plural, group=group, version=version,
        summary=_summary(schema, spec_schema, kind),
        spec_schema=spec_schema, status_schema=props.get("status") or {},
        # ModelPackage has no spec.required at all: that means "nothing required", not an error
        required=tuple(spec_schema.get("required") or ()),
        source=source, singular=names.get("singular") or kind.lower(), crd_name=name, raw=doc,
    )


def _yaml_documents(path: Path) -> list[Any]:
    """All documents of a YAML file, with a clear error for unreadable or invalid YAML."""
    import yaml
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CrdError(f"{path}: not a text file; expected a CRD YAML file.") from None
    except OSError as exc:
        raise CrdError(f"{path}: cannot read it ({exc.strerror}).") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster on big CRDs
    try:
        return list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CrdError(f"{path}: not valid YAML{where} ({getattr(exc, 'problem', exc)}).") from None


def load_crds_from_file(path: Path) -> list[CrdInfo]:
    """Every CRD in one (possibly multi-document) YAML file; any other document is an error."""
    docs = [d for d in _yaml_documents(path) if d is not None]
    if not docs:
        raise CrdError(f"{path}: the file is empty; expected a CRD YAML file.")
    many = len(docs) > 1
    return [parse_crd(doc, f"{path} (document {i + 1})" if many else str(path))
            for i, doc in enumerate(docs)]


def load_crds_from_path(path: str | Path) -> list[CrdInfo]:
    """CRDs from a YAML file or from every *.yaml / *.yml file of a directory.

    In a directory, kustomization files (kustomize's companions to CRDs) are
    skipped; every other file must be an ACK SageMaker CRD.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CrdError(f"CRD file not found: {path}. Check the path, or name a CRD by kind "
                       "(e.g. TrainingJob) to take it from an ACK release.")
    if path.is_file():
        return load_crds_from_file(path)
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()
                   and p.stem != "kustomization")
    if not files:
        raise CrdError(f"{path}: no .yaml files in this directory; expected ACK SageMaker CRD files.")
    crds: list[CrdInfo] = []
    for f in files:
        crds.extend(load_crds_from_file(f))
    return crds


def load_crds_from_cluster(api_client: Any) -> list[CrdInfo]:
    """The ACK SageMaker CRDs installed in a cluster, read through ApiextensionsV1Api.

    The raw JSON is read rather than the client's models, so field names stay
    exactly as the API server holds them.
    """
    import json
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    api = client.ApiextensionsV1Api(api_client)
    try:
        resp = api.list_custom_resource_definition(_preload_content=False)
        items = json.loads(resp.data).get("items") or []
    except ApiException as exc:
        raise CrdError(f"could not list CRDs from the cluster (HTTP {exc.status} {exc.reason}); "
                       "listing CRDs needs cluster-scoped read access to customresourcedefinitions.") from None
    host = getattr(getattr(api_client, "configuration", None), "host", "cluster")
    for item in items:  # items of a List carry no kind of their own
        item.setdefault("kind", "CustomResourceDefinition")
    crds = [parse_crd(item, f"cluster {host}: {item['metadata']['name']}") for item in items
            if (item.get("spec") or {}).get("group") == ACK_SAGEMAKER_GROUP]
    if not crds:
        raise NoCrdsInCluster(f"no {ACK_SAGEMAKER_GROUP} CRDs are installed in the cluster at {host}; "
                       "install the ACK SageMaker controller's CRDs first (helm install ... sagemaker-chart).")
    return sorted(crds, key=lambda c: c.kind)


def _keys(crd: CrdInfo) -> Iterable[str]:
    """Every name a learner may use for a CRD, lower-cased."""
    return {crd.kind.lower(), crd.plural.lower(), crd.singular.lower(), crd.crd_name.lower(),
            crd.file_name.lower(), Path(crd.source.split(" (document")[0]).name.lower()}


def find_crd(crds: list[CrdInfo], name: str, where: str = "the loaded CRDs") -> CrdInfo:
    """The CRD named by kind, plural, singular, CRD name or release file name (case-insensitive)."""
    wanted = name.strip().lower()
    for crd in crds:
        if wanted in _keys(crd):
            return crd
    kinds = sorted(c.kind for c in crds)
    close = difflib.get_close_matches(name, kinds, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    raise CrdError(f"no CRD named '{name}' in {where}.{hint} Known kinds: {', '.join(kinds)}.")
