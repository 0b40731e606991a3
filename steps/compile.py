"""Lab step 'compile': compile the MNIST k-means pipeline to a pipeline package."""

from __future__ import annotations

from pathlib import Path

from wizard.errors import InputError
from wizard.protocol import Context, Reporter, Step, VerifyResult, cmd

PIPELINE_KEY = "pipeline/mnist_classification_pipeline.tar.gz"


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
        """Compile, check the package loads back complete, and keep a copy in S3."""
        from assets.pipeline.mnist_pipeline import PARAMETERS, TASKS
        from wizard import s3data
        from wizard.kfp_ops import package

        components = ctx.outputs_of("component-generation").get("components") or {}
        if not components:
            raise InputError("There are no generated components to build the pipeline from.",
                             remediation="Run the component-generation step first.")
        creds, data = ctx.outputs_of("credentials"), ctx.outputs_of("data-upload")
        bucket = data.get("bucket") or ctx.input("bucket")
        if not bucket:
            raise InputError("The lab's bucket is not known.",
                             remediation="Run the data-upload step first.")
        region = ctx.target.region or creds.get("region") or data.get("region")
        prefix = data.get("prefix") or "lab1"
        out_dir = Path(ctx.state_dir) / "pipeline"
        reporter.command(cmd("kfp", "dsl", "compile", "--py", "mnist_classification_pipeline.py",
                             "--output", str(out_dir / f"{package.PACKAGE_BASENAME}.yaml")))
        yaml_path, tar_path = package.compile_package(
            components, out_dir, region=region, bucket=bucket,
            role_arn=creds.get("execution_role_arn") or "", prefix=prefix,
            lineage=ctx.ledger.lineage)
        spec = package.read_spec(tar_path)
        package.check_spec(spec, TASKS, PARAMETERS)
        reporter.log(f"Compiled {len(TASKS)} tasks and {len(PARAMETERS)} parameters into "
                     f"{tar_path} and it loads back complete.", "success")
        digest = package.sha256_file(yaml_path)
        uri = s3data.upload_if_changed(ctx, reporter, tar_path, bucket, f"{prefix}/{PIPELINE_KEY}",
                                       step=self.id)
        return {"package_path": str(tar_path), "yaml_path": str(yaml_path),
                "package_sha256": digest, "package_s3_uri": uri}

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """The package is still on disk with the same content."""
        from wizard.kfp_ops import package

        path = Path(outputs.get("yaml_path") or "")
        if not path.is_file() or not Path(outputs.get("package_path") or "").is_file():
            return VerifyResult(False, "the compiled package is gone")
        if package.sha256_file(path) != outputs.get("package_sha256"):
            return VerifyResult(False, "the compiled package has changed")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """The lab's own commands for this step."""
        bucket = ctx.outputs_of("data-upload").get("bucket") or "$AWS_S3_BUCKET_NAME"
        return [cmd("dsl-compile", "--py", "mnist_classification_pipeline.py", "--output",
                    "mnist_classification_pipeline.tar.gz"),
                cmd("aws", "s3", "cp", "mnist_classification_pipeline.tar.gz",
                    f"s3://{bucket}/lab1/{PIPELINE_KEY}")]
