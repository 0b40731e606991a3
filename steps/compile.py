"""Lab step 'compile': compile the MNIST k-means pipeline to a pipeline package."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class CompileStep(Step):
    """Compile the MNIST k-means pipeline to a pipeline package."""

    id = "compile"
    title = "Compile"
    summary = "Compile the MNIST k-means pipeline to a pipeline package."
    lesson = """The pipeline (processing → tuning → training → model → endpoint, and batch transform) is Python code.
The KFP compiler turns it into a YAML pipeline spec that Kubeflow Pipelines can run; a copy is kept in S3
under the lab's prefix."""
    creates = ('s3-object',)

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip compile if you did this part by hand.",
        )
