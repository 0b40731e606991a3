"""Lab step 'component-generation': generate a Kubeflow Pipelines component for each selected CRD."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class ComponentGenerationStep(Step):
    """Generate a Kubeflow Pipelines component for each selected CRD."""

    id = "component-generation"
    title = "Component generation"
    summary = "Generate a Kubeflow Pipelines component for each selected CRD."
    lesson = """A pipeline component is a containerised step with typed inputs and outputs. From each CRD's schema the
generator writes a component whose inputs are the resource's spec fields and whose outputs are its status
fields; at run time it creates the custom resource and waits for ACK to report the SageMaker job's end."""
    creates = ()

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip component-generation if you did this part by hand.",
        )
