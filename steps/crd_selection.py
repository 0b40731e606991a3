"""Lab step 'crd-selection': choose the ACK SageMaker custom resources to build pipeline components from."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class CrdSelectionStep(Step):
    """Choose the ACK SageMaker custom resources to build pipeline components from."""

    id = "crd-selection"
    title = "CRD selection"
    summary = "Choose the ACK SageMaker custom resources to build pipeline components from."
    lesson = """The ACK SageMaker controller turns Kubernetes custom resources (a `TrainingJob`, an `Endpoint`, ...)
into SageMaker API calls. Each kind is described by a CustomResourceDefinition (CRD) whose schema lists
every field. The wizard reads the CRDs installed in your cluster (or a directory, or an ACK release) and
preselects the kinds this lab's pipeline needs."""
    creates = ()

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip crd-selection if you did this part by hand.",
        )
