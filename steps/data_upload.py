"""Lab step 'data-upload': put the MNIST data and the preprocessing script in the lab's S3 bucket."""

from __future__ import annotations

import os
from pathlib import Path

from wizard import validate
from wizard.errors import InputError
from wizard.protocol import Context, Expand, InputSpec, Reporter, Step, VerifyResult
from wizard import s3data

PREFIX = "lab1"
DATA_KEY = f"{PREFIX}/source_data/mnist.pkl.gz"
SCRIPT_KEY = f"{PREFIX}/processing_code/kmeans_preprocessing.py"
SCRIPT_PATH = Path(__file__).resolve().parent.parent / "assets" / "scripts" / "preprocess.py"


def _existing_path(value, ctx) -> str:
    """The path of a local ``mnist.pkl.gz``, or ``offline`` for scikit-learn's stand-in digits."""
    if str(value).strip().lower() == s3data.OFFLINE:
        return s3data.OFFLINE
    path = Path(os.path.expanduser(str(value)))
    if not path.is_file():
        raise InputError(f"{path} is not a file.",
                         remediation="Give the path of mnist.pkl.gz, leave it empty to fetch it, "
                         "or answer 'offline' for scikit-learn's small digits instead of MNIST.")
    return str(path.resolve())


class DataUploadStep(Step):
    """Put the MNIST data and the preprocessing script in the lab's S3 bucket."""

    id = "data-upload"
    title = "Data upload"
    summary = "Put the MNIST data and the preprocessing script in the lab's S3 bucket."
    lesson = """SageMaker jobs read their input from S3 and write their output back to it. This step
makes sure the lab bucket exists in the lab's region (a bucket's region is fixed when it is made, and
a job in another region cannot use it), then uploads `mnist.pkl.gz` under `lab1/source_data/` and the
preprocessing script under `lab1/processing_code/`, as the lab does. An object that is already there
with the same content is not uploaded again: S3's ETag (an MD5 for single-part uploads) tells."""
    creates = ("s3-bucket", "s3-object")

    def input_specs(self) -> list[InputSpec]:
        """The bucket (usually given at the credentials step) and an optional local data file."""
        return [
            InputSpec("bucket", "S3 bucket for the lab's data and artifacts",
                      default=lambda ctx: ctx.outputs_of("credentials").get("bucket")
                      or ctx.target.sandbox.get("bucket"), validate=validate.bucket_name,
                      level="detected"),
            InputSpec("mnist_path", "Path of mnist.pkl.gz on this machine (empty: fetch it)",
                      required=False, validate=_existing_path, kind="path", level="advanced",
                      help="A copy you already have; empty: the wizard downloads it; 'offline': "
                      "scikit-learn's digits shaped like MNIST, to rehearse without the download "
                      "(the sandbox uses them by itself when it has no copy)."),
        ]

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Ensure the bucket, obtain and check the data, upload what is not there yet."""
        bucket = ctx.input("bucket")
        region = ctx.target.region or ctx.outputs_of("credentials").get("region")
        s3data.ensure_bucket(ctx, reporter, bucket, region, step=self.id)
        data = s3data.obtain_mnist(ctx, reporter, ctx.input("mnist_path"))
        s3data.check_mnist(data)
        reporter.log(f"mnist.pkl.gz loads and has the lab's shape ({data.stat().st_size:,} bytes).")
        data_uri = s3data.upload_if_changed(ctx, reporter, data, bucket, DATA_KEY, step=self.id)
        script_uri = s3data.upload_if_changed(ctx, reporter, SCRIPT_PATH, bucket, SCRIPT_KEY,
                                              step=self.id)
        return {"bucket": bucket, "region": region, "prefix": PREFIX, "data_uri": data_uri,
                "script_uri": script_uri,
                "data_etag": s3data.local_etag(data), "script_etag": s3data.local_etag(SCRIPT_PATH)}

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """Both objects are still in the bucket with the content that was uploaded."""
        s3 = ctx.clients.aws("s3")
        def key_of(uri, default):
            """The key the step used (another one when the learner's object held the lab's)."""
            return uri.split("/", 3)[3] if isinstance(uri, str) and uri.count("/") >= 3 else default
        for key, etag in ((key_of(outputs.get("data_uri"), DATA_KEY), outputs.get("data_etag")),
                          (key_of(outputs.get("script_uri"), SCRIPT_KEY), outputs.get("script_etag"))):
            remote = s3data.remote_etag(s3, outputs["bucket"], key)
            if remote is None:
                return VerifyResult(False, f"s3://{outputs['bucket']}/{key} is gone")
            if etag and remote != etag:
                return VerifyResult(False, f"s3://{outputs['bucket']}/{key} has changed")
        if s3data.local_etag(SCRIPT_PATH) != outputs.get("script_etag"):
            return VerifyResult(False, "the preprocessing script has changed locally")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """The lab's own commands for this step (from the answers and the state, touching nothing).

        Built with the builders the run reports with; the bucket is the lab's
        ``$AWS_S3_BUCKET_NAME`` until one is known, and the files are the ones the wizard uses.
        """
        bucket = ctx.input("bucket") or Expand("$AWS_S3_BUCKET_NAME")
        region = ctx.target.region or ctx.input("region") or "eu-west-1"
        account = ctx.outputs_of("credentials").get("account_id") or Expand(
            "$(aws sts get-caller-identity --query Account --output text)")
        local = Path(ctx.state_dir) / "data" / "mnist.pkl.gz"
        data_uri = Expand(f"s3://{bucket}/{DATA_KEY}") if isinstance(bucket, Expand) \
            else f"s3://{bucket}/{DATA_KEY}"
        script_uri = Expand(f"s3://{bucket}/{SCRIPT_KEY}") if isinstance(bucket, Expand) \
            else f"s3://{bucket}/{SCRIPT_KEY}"
        return [
            s3data.head_bucket_command(bucket, account),
            s3data.location_command(bucket),
            s3data.create_bucket_command(bucket, region),
            s3data.tagging_command(bucket, {"labwiz:lineage": "<lineage>", "labwiz:managed": "true"}),
            s3data.fetch_command(s3data.LAB_ASSET_URI, local),
            s3data.head_object_command(bucket, DATA_KEY),
            s3data.upload_command(local, data_uri),
            s3data.upload_command(SCRIPT_PATH, script_uri),
        ]
