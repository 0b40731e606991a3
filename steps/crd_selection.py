"""Lab step 'crd-selection': choose the ACK SageMaker custom resources to build components from."""

from __future__ import annotations

import hashlib
from pathlib import Path


from wizard.errors import EnvironmentProblem, InputError, StepError
from wizard.protocol import Context, InputSpec, Reporter, Step, VerifyResult, cmd

GROUP = "sagemaker.services.k8s.aws"
#: the kinds the lab's pipeline is built from
LAB_KINDS = ("ProcessingJob", "HyperParameterTuningJob", "TrainingJob", "Model", "EndpointConfig",
             "Endpoint", "TransformJob")
#: "auto" tries the others in this order of preference: the cluster's CRDs match the controller
#: that will act on the resources, a path is what the user chose, a release is the last resort
SOURCES = ("auto", "cluster", "path", "release")


def _source(value, ctx) -> str:
    """A known CRD source, lower-cased."""
    text = str(value).strip().lower()
    if text not in SOURCES:
        raise InputError(f"'{value}' is not a CRD source.",
                         remediation="Use auto (the cluster's CRDs, else crd_path, else an ACK "
                         "release), cluster (the installed CRDs), path (a file or directory), "
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
    """Kind names from a list (answers file, TUI) or comma/space-separated text (prompts).

    Whether each names a kind is checked once the CRDs are loaded, against what the source has.
    """
    if isinstance(value, str):
        items = value.replace(" ", ",").split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(i, str) for i in value):
        items = list(value)
    else:
        raise InputError(f"crd_extra_kinds must be a list of kind names, not {value!r}.",
                         remediation="Write e.g. 'crd_extra_kinds: [ModelPackage, NotebookInstance]' "
                         "or 'ModelPackage, NotebookInstance'.")
    return [i.strip() for i in items if i.strip()]


def _source_word(path: str) -> str:
    """'directory' or 'file', for the line that says which source was used."""
    return "directory" if Path(path).is_dir() else "file"


def _select(crds: list, extra: list[str]) -> list:
    """The lab's kinds plus the extra ones, each once, matched by kind, plural or singular.

    An unknown name is an InputError listing every kind this source offers.
    """
    from wizard.generator.crds import CrdError, find_crd

    chosen, unknown = [], []
    for name in list(LAB_KINDS) + list(extra):
        try:
            crd = find_crd(crds, name)
        except CrdError:
            unknown.append(name)
            continue
        if crd not in chosen:
            chosen.append(crd)
    if unknown:
        lab = [k for k in unknown if k in LAB_KINDS]
        if lab:
            raise StepError(f"The lab's pipeline needs {', '.join(lab)}, which the CRDs lack.",
                            remediation="Upgrade the ACK SageMaker controller, or use crd_source: "
                            "release.")
        raise InputError(f"Unknown kinds: {', '.join(unknown)}.",
                         remediation="crd_extra_kinds takes kinds (or plurals) these CRDs have: "
                         + ", ".join(sorted(c.kind for c in crds)) + ".", field="crd_extra_kinds")
    return chosen


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
            InputSpec("crd_source", "Where to read the CRDs from", default="auto",
                      choices=list(SOURCES), kind="choice", validate=_source,
                      help="auto: the cluster's CRDs, else crd_path, else an ACK release.",
                      level="advanced"),
            InputSpec("crd_path", "CRD file or directory (for source 'path')", required=False,
                      validate=_path, kind="path",
                      applies=lambda ctx: ctx.input("crd_source") == "path"),
            InputSpec("crd_release", "ACK release tag (for source 'release')", default="latest",
                      required=False, applies=lambda ctx: ctx.input("crd_source") == "release"),
            InputSpec("crd_extra_kinds", "More kinds to generate components for (comma-separated)",
                      required=False, validate=_kinds, default=[], kind="multi",
                      help="Kinds or plurals, e.g. ModelPackage, notebookinstances; the lab's own "
                      "kinds are always included.", level="advanced"),
        ]

    def _load(self, ctx: Context, reporter: Reporter) -> tuple[list, str, str]:
        """The CRDs, the source they came from, and a line saying why that source.

        An explicit source is used alone; "auto" goes down the order of preference and says why
        each earlier source was passed over.
        """
        from wizard.generator import GeneratorError

        source, path = ctx.input("crd_source"), ctx.input("crd_path")
        try:
            if source == "path":
                if not path:
                    raise InputError("crd_source is 'path' but no crd_path was given.",
                                     remediation="Give crd_path: a CRD file or a directory of them.")
                return self._from_path(path), "path", f"using the {_source_word(path)} you gave ({path})"
            if source == "release":
                tag = ctx.input("crd_release") or "latest"
                return self._from_release(reporter, tag), "release", f"using ACK release {tag}"
            if source == "cluster":
                return self._from_cluster(ctx, reporter), "cluster", "using the CRDs installed in the cluster"
        except GeneratorError as exc:
            raise InputError(str(exc), remediation="Choose another crd_source, or fix the files.") from None
        return self._auto(ctx, reporter, path)

    def _auto(self, ctx: Context, reporter: Reporter, path: str | None) -> tuple[list, str, str]:
        """Cluster, else crd_path, else an ACK release; each step down is explained."""
        from wizard.generator import GeneratorError
        from wizard.generator.errors import NoCrdsInCluster

        passed_over = []
        try:
            crds = self._from_cluster(ctx, reporter)
        except NoCrdsInCluster:
            passed_over.append("no ACK SageMaker CRDs in the cluster")
        except Exception as exc:  # noqa: BLE001 - any cluster failure means: try the next source
            reason = str(getattr(exc, "message", "") or exc).strip() or type(exc).__name__
            passed_over.append(f"the cluster's CRDs could not be read ({reason})")
        else:
            note = "using the CRDs installed in the cluster (they match its ACK controller)"
            if path:
                note += f"; the {_source_word(path)} you gave ({path}) is not needed"
            return crds, "cluster", note
        if path:
            try:
                crds = self._from_path(path)
            except GeneratorError as exc:  # the user chose this path: a bad one is their error
                raise InputError(f"{passed_over[0]}, and crd_path cannot be used: {exc}",
                                 remediation="Fix crd_path (a CRD file or a directory of them), or "
                                 "install the ACK SageMaker controller in the cluster.",
                                 field="crd_path") from None
            return crds, "path", f"{passed_over[0]}; using the {_source_word(path)} you gave ({path})"
        passed_over.append("no crd_path was given")
        tag = ctx.input("crd_release") or "latest"
        try:
            crds = self._from_release(reporter, tag)
        except GeneratorError as exc:
            raise InputError(f"No CRDs to read: {'; '.join(passed_over)}; and the ACK release could "
                             f"not be fetched: {exc}",
                             remediation="Give crd_path (a CRD file, or a directory such as an ACK "
                             "release's config/crd/bases), or install the ACK SageMaker controller "
                             "in the cluster, or retry when GitHub is reachable (a GITHUB_TOKEN "
                             "raises its rate limit).") from None
        return crds, "release", f"{'; '.join(passed_over)}; using ACK release {tag} from GitHub"

    @staticmethod
    def _from_cluster(ctx: Context, reporter: Reporter) -> list:
        """The ACK SageMaker CRDs installed in the cluster."""
        from wizard.generator import load_crds_from_cluster

        reporter.command(cmd("kubectl", "get", "crd", "-o", "name",
                             note=f"the {GROUP} CRDs the cluster has installed"))
        return load_crds_from_cluster(ctx.clients.kube)

    @staticmethod
    def _from_path(path: str) -> list:
        """The CRDs in a file or directory."""
        from wizard.generator import load_crds_from_path

        return load_crds_from_path(path)

    @staticmethod
    def _from_release(reporter: Reporter, tag: str) -> list:
        """The CRDs of an ACK release (cached, else from GitHub)."""
        from wizard.generator import load_crds_from_release

        reporter.log(f"Fetching the ACK sagemaker-controller CRDs of release {tag} from GitHub "
                     "(or the local cache).")
        reporter.command(cmd("gh", "api", "repos/aws-controllers-k8s/sagemaker-controller/contents/"
                             f"config/crd/bases?ref={tag}", note="the release's CRD files"))
        return load_crds_from_release(tag)

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Load the CRDs, show them, select the lab's kinds plus any extra, save copies."""
        loaded, source, note = self._load(ctx, reporter)
        crds = [c for c in loaded if c.group == GROUP]
        if not crds:
            raise EnvironmentProblem(
                f"No {GROUP} CRDs were found ({source}).",
                remediation="Install the ACK SageMaker controller (its chart installs the CRDs), or "
                "use crd_source: release or path.")
        reporter.log(f"CRD source: {source}: {note}.")
        selected = _select(crds, ctx.input("crd_extra_kinds") or [])
        reporter.show("table", {"title": f"{len(crds)} ACK SageMaker CRDs", "columns":
                                ["", "kind", "version", "summary"],
                                "rows": [["✔" if c in selected else "", c.kind, c.version,
                                          c.summary[:70]] for c in sorted(crds, key=lambda c: c.kind)]})
        out = Path(ctx.state_dir) / "crds"
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for crd in selected:
            path = out / crd.file_name
            import yaml  # here: the TUI loads every step before its first paint

            text = yaml.safe_dump(crd.raw, sort_keys=False)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
            rows.append({"kind": crd.kind, "plural": crd.plural, "version": crd.version,
                         "summary": crd.summary, "path": str(path),
                         "sha256": hashlib.sha256(text.encode()).hexdigest()})
        reporter.log(f"Selected {len(rows)} kinds; copies of their CRDs are in {out}.", "success")
        return {"source": source, "source_note": note, "crds": rows}

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
