"""Lab step 'data-upload': put the MNIST data and the preprocessing script in the lab's S3 bucket."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class DataUploadStep(Step):
    """Put the MNIST data and the preprocessing script in the lab's S3 bucket."""

    id = "data-upload"
    title = "Data upload"
    summary = "Put the MNIST data and the preprocessing script in the lab's S3 bucket."
    lesson = """SageMaker jobs read their input from S3 and write their output back to it. This step makes sure the
lab bucket exists in the lab's region, then uploads `mnist.pkl.gz` and the preprocessing script under
the lab's prefixes. An object already there with the same content is not uploaded again."""
    creates = ('s3-bucket', 's3-object')

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip data-upload if you did this part by hand.",
        )
