"""Lab step 'crd-selection': choose the ACK SageMaker custom resources to build components from."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from wizard.errors import EnvironmentProblem, InputError, StepError
from wizard.protocol import Context, InputSpec, Reporter, Step, VerifyResult, cmd

GROUP = "sagemaker.services.k8s.aws"
#: the kinds the lab's pipeline is built from
LAB_KINDS = ("ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model", "EndpointConfig",
             "Endpoint", "TransformJob")
SOURCES = ("cluster", "path", "release")


def _source(value, ctx) -> str:
    text = str(value).strip().lower()
    if text not in SOURCES:
        raise InputError(f"'{value}' is not a CRD source.",
                         remediation="Use cluster (the installed CRDs), path (a file or directory), "
                         "or release (an ACK release from GitHub).")
    return text


def _path(value, ctx) -> str:
    path = Path(str(value)).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist.",
                         remediation="Give a CRD YAML file or a directory of them (e.g. an ACK "
                         "release's config/crd/bases).")
    return str(path.resolve())


def _kinds(value, ctx) -> list[str]:
    items = value if isinstance(value, list) else str(value).replace(" ", ",").split(",")
    return [str(i).strip() for i in items if str(i).strip()]


class CrdSelectionStep(Step):
    """Choose the ACK SageMaker custom resources to build pipeline components from."""

    id = "crd-selection"
    title = "CRD selection"
    summary = "Choose the ACK SageMaker custom resources to build pipeline components from."
    lesson = """The ACK SageMaker controller turns Kubernetes custom resources (a `TrainingJob`, an
`Endpoint`, ...) into SageMaker API calls. Each kind is described by a CustomResourceDefinition
(CRD) whose OpenAPI schema lists every field of its `spec` (what you ask for) and `status` (what
SageMaker reports). The wizard reads the CRDs installed in your cluster first: they match the
controller that will act on them. A directory of CRD files or an ACK release from GitHub work too.
The kinds the lab's pipeline needs are preselected; you may add more."""

    def input_specs(self) -> list[InputSpec]:
        """Where the CRDs come from, and which kinds to use."""
        return [
            InputSpec("crd_source", "Where to read the CRDs from", default="cluster",
                      choices=list(SOURCES), kind="choice", validate=_source),
            InputSpec("crd_path", "CRD file or directory (for source 'path')", required=False,
                      validate=_path, kind="path"),
            InputSpec("crd_release", "ACK release tag (for source 'release')", default="latest",
                      required=False),
            InputSpec("crd_extra_kinds", "More kinds to generate components for (comma-separated)",
                      required=False, validate=_kinds, default=[]),
        ]

    def _load(self, ctx: Context, reporter: Reporter):
        from wizard.generator import GeneratorError, load_crds_from_cluster, load_crds_from_path

        source = ctx.input("crd_source")
        try:
            if source == "path":
                if not ctx.input("crd_path"):
                    raise InputError("crd_source is 'path' but no crd_path was given.",
                                     remediation="Give crd_path: a CRD file or a directory of them.")
                return load_crds_from_path(ctx.input("crd_path"))
            if source == "release":
                from wizard.generator import load_crds_from_release

                tag = ctx.input("crd_release") or "latest"
                reporter.log(f"Fetching the ACK sagemaker-controller CRDs of release {tag} from GitHub.")
                return load_crds_from_release(tag)
            reporter.command(cmd("kubectl", "get", "crd", "-o", "name",
                                 note=f"the {GROUP} CRDs the cluster has installed"))
            return load_crds_from_cluster(ctx.clients.kube)
        except GeneratorError as exc:
            raise InputError(str(exc), remediation="Choose another crd_source, or fix the files.") from None

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Load the CRDs, show them, select the lab's kinds plus any extra, save copies."""
        crds = [c for c in self._load(ctx, reporter) if c.group == GROUP]
        if not crds:
            raise EnvironmentProblem(
                f"No {GROUP} CRDs were found ({ctx.input('crd_source')}).",
                remediation="Install the ACK SageMaker controller (its chart installs the CRDs), or "
                "use crd_source: release or path.")
        by_kind = {c.kind: c for c in crds}
        wanted = list(LAB_KINDS) + [k for k in ctx.input("crd_extra_kinds") or [] if k not in LAB_KINDS]
        unknown = [k for k in wanted if k not in by_kind and k.lower() not in
                   {c.plural for c in crds} and k not in LAB_KINDS]
        if unknown:
            raise InputError(f"Unknown kinds: {', '.join(unknown)}.",
                             remediation="Available: " + ", ".join(sorted(by_kind)))
        missing = [k for k in LAB_KINDS if k not in by_kind]
        if missing:
            raise StepError(f"The lab's pipeline needs {', '.join(missing)}, which the CRDs lack.",
                            remediation="Upgrade the ACK SageMaker controller, or use crd_source: "
                            "release.")
        plural_to_kind = {c.plural: c.kind for c in crds}
        selected = [by_kind.get(k) or by_kind[plural_to_kind[k.lower()]] for k in wanted]
        reporter.show("table", {"title": f"{len(crds)} ACK SageMaker CRDs", "columns":
                                ["", "kind", "version", "summary"],
                                "rows": [["✔" if c in selected else "", c.kind, c.version,
                                          c.summary[:70]] for c in sorted(crds, key=lambda c: c.kind)]})
        out = Path(ctx.state_dir) / "crds"
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for crd in selected:
            path = out / crd.file_name
            text = yaml.safe_dump(crd.raw, sort_keys=False)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
            rows.append({"kind": crd.kind, "plural": crd.plural, "version": crd.version,
                         "summary": crd.summary, "path": str(path),
                         "sha256": hashlib.sha256(text.encode()).hexdigest()})
        reporter.log(f"Selected {len(rows)} kinds; copies of their CRDs are in {out}.", "success")
        return {"source": ctx.input("crd_source"), "crds": rows}

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """The saved CRD copies are still there, unchanged."""
        for row in outputs.get("crds", []):
            path = Path(row["path"])
            if not path.exists():
                return VerifyResult(False, f"{path} is gone")
            if hashlib.sha256(path.read_bytes()).hexdigest() != row["sha256"]:
                return VerifyResult(False, f"{path} has changed")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """How to see the same CRDs by hand."""
        return [cmd("kubectl", "get", "crd", "-o", "name"),
                cmd("kubectl", "get", "crd", f"trainingjobs.{GROUP}", "-o", "yaml")]
