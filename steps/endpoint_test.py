"""Lab step 'endpoint-test': send handwritten digits to the endpoint and look at its predictions."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class EndpointTestStep(Step):
    """Send handwritten digits to the endpoint and look at its predictions."""

    id = "endpoint-test"
    title = "Endpoint test"
    summary = "Send handwritten digits to the endpoint and look at its predictions."
    lesson = """The k-means model groups digits into ten clusters without ever seeing a label. The wizard sends test digits
to the endpoint as CSV, draws each digit beside the cluster it was given, and tabulates clusters against the
true labels."""
    creates = ()

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip endpoint-test if you did this part by hand.",
        )
