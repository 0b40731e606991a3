"""Lab step 'upload': upload the pipeline to Kubeflow Pipelines and prepare an experiment."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class UploadStep(Step):
    """Upload the pipeline to Kubeflow Pipelines and prepare an experiment."""

    id = "upload"
    title = "Upload"
    summary = "Upload the pipeline to Kubeflow Pipelines and prepare an experiment."
    lesson = """Kubeflow Pipelines stores pipelines and their versions. The wizard uploads the compiled pipeline (or a new
version when it changed) and creates or reuses the experiment that will hold the run."""
    creates = ('kfp-pipeline', 'kfp-pipeline-version', 'kfp-experiment')

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip upload if you did this part by hand.",
        )
