"""Lab step 'component-generation': a Kubeflow Pipelines component for each selected CRD."""

from __future__ import annotations

from pathlib import Path

from wizard import validate
from wizard.errors import InputError
from wizard.protocol import Context, InputSpec, Reporter, Step, VerifyResult, cmd


class ComponentGenerationStep(Step):
    """Generate a Kubeflow Pipelines component for each selected CRD."""

    id = "component-generation"
    title = "Component generation"
    summary = "Generate a Kubeflow Pipelines component for each selected CRD."
    lesson = """A pipeline component is a containerised step with typed inputs and outputs. From each
CRD's schema the generator writes a component whose inputs are the resource's spec fields (in
snake_case, mapped back to the CRD's exact keys, so `executionRoleARN` and `kmsKeyID` survive) and
whose outputs are its status fields as JSON. At run time the component creates the custom resource
in the run's namespace and waits as ACK reports: the kind's own status (`trainingJobStatus`,
`endpointStatus` InService, ...) or the `ACK.ResourceSynced` condition; `ACK.Terminal` fails it.
The components run on a stock Python image with the kubernetes client: no image to build or push."""

    def input_specs(self) -> list[InputSpec]:
        """An optional container image for the components."""
        return [InputSpec("component_image", "Container image for the components (empty: "
                          "python:3.11-slim)", required=False, level="advanced",
                          validate=validate.image_reference,
                          help="The image the generated components' pods run in.")]

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Generate and compile one component per selected CRD."""
        from wizard.generator import GeneratorError, generate, load_crds_from_path

        selected = ctx.outputs_of("crd-selection").get("crds") or []
        if not selected:
            raise InputError("No CRDs were selected.", remediation="Run the crd-selection step first.")
        out_dir = Path(ctx.state_dir) / "components"
        components = {}
        for number, row in enumerate(selected):
            reporter.progress("generate components", number, len(selected))
            reporter.command(cmd("labwiz", "generate", "--crd", row["path"], "--out", str(out_dir),
                                 *(["--image", ctx.input("component_image")]
                                   if ctx.input("component_image") else [])))
            try:
                crd = load_crds_from_path(row["path"])[0]
                made = generate(crd, out_dir, image=ctx.input("component_image") or None)
            except GeneratorError as exc:
                raise InputError(f"Generating the {row['kind']} component failed: {exc}",
                                 remediation="Check the CRD file, or run 'labwiz reset --to "
                                 "crd-selection'.") from None
            components[row["kind"]] = str(made.component_yaml)
        reporter.progress("generate components", len(selected), len(selected))
        reporter.log(f"Generated {len(components)} components in {out_dir}.", "success")
        return {"out_dir": str(out_dir), "components": components}

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """Every component file is still there."""
        for kind, path in (outputs.get("components") or {}).items():
            if not Path(path).exists():
                return VerifyResult(False, f"the {kind} component ({path}) is gone")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """The generator as a standalone command."""
        return [cmd("labwiz", "generate", "--crd", "trainingjobs", "--out", "components/")]
