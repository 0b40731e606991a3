"""Lab step 'compile': compile the MNIST k-means pipeline to a pipeline package."""

from __future__ import annotations

from pathlib import Path

from wizard.errors import InputError
from wizard.protocol import Command, Context, Expand, Reporter, Step, VerifyResult, cmd

PIPELINE_KEY = "pipeline/mnist_classification_pipeline.tar.gz"
SOURCE_NAME = "mnist_classification_pipeline.py"

_SOURCE = '''"""The lab's pipeline: MNIST k-means on SageMaker through ACK custom resources.

labwiz's compile step wrote this file from the components it generated, and compiled it. The
pipeline itself (processing, tuning, training, model, endpoint, batch transform) is defined in
labwiz's assets/pipeline/mnist_pipeline.py; the values below are this lab's defaults, which a
run may override. Compile it by hand with:

    kfp dsl compile --py {source} --output {output}
"""

from assets.pipeline.mnist_pipeline import build_pipeline

#: the generated component of each ACK kind
COMPONENTS = {components}

mnist_classification_pipeline = build_pipeline(
    COMPONENTS, region={region!r}, bucket={bucket!r}, role_arn={role_arn!r},
    prefix={prefix!r}, lineage={lineage!r})
'''


def write_source(path: Path, components: dict, *, region: str, bucket: str, role_arn: str,
                 prefix: str, lineage: str, output: Path) -> Path:
    """Write the pipeline source the learner can compile by hand (unchanged when the same)."""
    import pprint

    text = _SOURCE.format(source=path, output=output,
                          components=pprint.pformat(dict(sorted(components.items())), indent=4),
                          region=region, bucket=bucket, role_arn=role_arn, prefix=prefix,
                          lineage=lineage)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


# -- the commands of this step (the same builders serve the run and --explain) ------------------
def compile_command(source: Path, output: Path) -> Command:
    """``kfp dsl compile``: kfp 2 writes YAML (it refuses a .tar.gz output)."""
    return cmd("kfp", "dsl", "compile", "--py", str(source), "--output", str(output),
               note="the pipeline source the wizard wrote, compiled to the pipeline spec")


def archive_command(yaml_path: Path, tar_path: Path) -> Command:
    """The ``.tar.gz`` the lab keeps in S3, holding the spec."""
    return cmd("tar", "-czf", str(tar_path), "-C", str(yaml_path.parent), yaml_path.name,
               note="the lab's package is a .tar.gz holding the spec (the wizard writes it "
               "byte-reproducibly, the spec named pipeline.yaml)")


def copy_command(tar_path: Path, uri) -> Command:
    """The package's copy in the lab's bucket."""
    return cmd("aws", "s3", "cp", str(tar_path), uri)


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
        role_arn = creds.get("execution_role_arn") or ""
        source = write_source(out_dir / SOURCE_NAME, components, region=region, bucket=bucket,
                              role_arn=role_arn, prefix=prefix, lineage=ctx.ledger.lineage,
                              output=out_dir / f"{package.PACKAGE_BASENAME}.yaml")
        reporter.command(compile_command(source, out_dir / f"{package.PACKAGE_BASENAME}.yaml"))
        yaml_path, tar_path = package.compile_package(
            components, out_dir, region=region, bucket=bucket, role_arn=role_arn, prefix=prefix,
            lineage=ctx.ledger.lineage)
        reporter.command(archive_command(yaml_path, tar_path))
        spec = package.read_spec(tar_path)
        package.check_spec(spec, TASKS, PARAMETERS)
        reporter.log(f"Compiled {len(TASKS)} tasks and {len(PARAMETERS)} parameters into "
                     f"{tar_path} and it loads back complete.", "success")
        digest = package.sha256_file(yaml_path)
        reporter.log(f"The pipeline's source is {source}: 'kfp dsl compile' compiles it by hand.")
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
        """The lab's own commands for this step, on the files the wizard writes."""
        from wizard.kfp_ops.package import PACKAGE_BASENAME

        out_dir = Path(ctx.state_dir) / "pipeline"
        bucket = ctx.outputs_of("data-upload").get("bucket")
        prefix = ctx.outputs_of("data-upload").get("prefix") or "lab1"
        uri = (f"s3://{bucket}/{prefix}/{PIPELINE_KEY}" if bucket
               else Expand(f"s3://$AWS_S3_BUCKET_NAME/{prefix}/{PIPELINE_KEY}"))
        yaml_path, tar_path = out_dir / f"{PACKAGE_BASENAME}.yaml", out_dir / f"{PACKAGE_BASENAME}.tar.gz"
        return [compile_command(out_dir / SOURCE_NAME, yaml_path),
                archive_command(yaml_path, tar_path),
                copy_command(tar_path, uri)]
