"""Lab step 'upload': upload the pipeline to Kubeflow Pipelines and prepare an experiment."""

from __future__ import annotations

import os
from pathlib import Path

from wizard import validate
from wizard.errors import InputError
from wizard.protocol import Context, InputSpec, Reporter, Resource, Step, VerifyResult, cmd

PIPELINE_NAME = "mnist-classification-pipeline"
EXPERIMENT_NAME = "mnist-kmeans-lab"


def _package(value, ctx) -> str:
    """Validate a package path the user gave: an existing file that holds a KFP v2 pipeline.

    Checked here, before the value is kept in state, so that a wrong file is asked for again
    on the next run instead of failing the step every time."""
    from wizard.kfp_ops.package import read_spec

    path = Path(os.path.expanduser(str(value)))
    if not path.is_file():
        raise InputError(f"{path} is not a file.",
                         remediation="Give a compiled pipeline (.yaml or .tar.gz), or leave it "
                         "empty to use the compile step's package.")
    read_spec(path)
    return str(path.resolve())


class UploadStep(Step):
    """Upload the pipeline to Kubeflow Pipelines and prepare an experiment."""

    id = "upload"
    title = "Upload"
    summary = "Upload the pipeline to Kubeflow Pipelines and prepare an experiment."
    lesson = """Kubeflow Pipelines stores pipelines and their versions. The wizard uploads the compiled pipeline (or a new
version when it changed) and creates or reuses the experiment that will hold the run."""
    creates = ('kfp-pipeline', 'kfp-pipeline-version', 'kfp-experiment')

    def input_specs(self) -> list[InputSpec]:
        """Where KFP is and how to log in to it (all optional: the wizard finds KFP itself)."""
        return [
            InputSpec("kfp_host", "Kubeflow Pipelines URL (empty: find it)", required=False,
                      validate=validate.host_url,
                      help="e.g. http://localhost:8888 after kubectl port-forward; empty: the "
                      "sandbox's, KF_PIPELINES_ENDPOINT, the in-cluster service, or a "
                      "port-forward the wizard opens", level="advanced"),
            InputSpec("kfp_cookie", "authservice_session cookie (empty: none)", required=False,
                      secret=True, help="Kubeflow behind Dex/oauth2-proxy: copy it from your "
                      "browser after logging in", level="advanced",
                      applies=lambda ctx: not ctx.target.is_sandbox),
            InputSpec("kfp_token", "Bearer token for KFP (empty: none)", required=False,
                      secret=True, level="advanced", applies=lambda ctx: not ctx.target.is_sandbox),
            InputSpec("package_path", "Pipeline package to upload (empty: the compiled one)",
                      required=False, validate=_package, kind="path", level="advanced"),
        ]

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Connect, upload the package (or a new version), create or reuse the experiment."""
        from wizard.kfp_ops import connect, package, publish

        compiled = ctx.outputs_of("compile")
        path = ctx.input("package_path") or compiled.get("package_path")
        if not path:
            raise InputError("There is no compiled pipeline to upload.",
                             remediation="Run the compile step first.")
        spec = package.read_spec(Path(path))  # refuses a file that is not a pipeline
        sha = compiled.get("package_sha256") if path == compiled.get("package_path") else None
        sha = sha or package.sha256_file(Path(path))
        name = spec.get("pipelineInfo", {}).get("name") or PIPELINE_NAME
        given = ctx.input("kfp_host")
        known = ctx.target.kfp_host
        how = connect.apply_credentials(ctx, ctx.input("kfp_token"), ctx.input("kfp_cookie"))
        namespace = ctx.outputs_of("credentials").get("namespace") or ctx.target.namespace
        with connect.kfp_connection(ctx, reporter, given) as (client, host):
            reporter.log(f"Kubeflow Pipelines at {host} ({how}).")
            reporter.command(cmd("kfp", "--endpoint", host, "pipeline", "create", "-p", name,
                                 path, note="first upload; later: 'kfp pipeline create-version'"))
            done = publish.publish(client, path, name, sha, "MNIST k-means on SageMaker")
            ctx.ledger.record(Resource(kind="kfp-pipeline", name=name, step=self.id,
                                       details={"pipeline_id": done.pipeline_id, "host": host}))
            ctx.ledger.record(Resource(kind="kfp-pipeline-version", name=done.version_id,
                                       step=self.id, details={"pipeline_id": done.pipeline_id,
                                                              "sha256": sha}))
            reporter.log(("Uploaded" if done.created_version else "Reusing") +
                         f" pipeline {name}, version {done.version_id}.", "success")
            reporter.command(cmd("kfp", "--endpoint", host, "experiment", "create",
                                 EXPERIMENT_NAME, *(["--namespace", namespace] if namespace
                                                    else [])))
            experiment_id, created = publish.ensure_experiment(client, EXPERIMENT_NAME, namespace)
            ctx.ledger.record(Resource(kind="kfp-experiment", name=EXPERIMENT_NAME, step=self.id,
                                       namespace=namespace,
                                       details={"experiment_id": experiment_id}))
            reporter.log(("Created" if created else "Reusing") +
                         f" experiment {EXPERIMENT_NAME}.", "success")
        return {"kfp_host": host, "pipeline_id": done.pipeline_id, "pipeline_name": name,
                "version_id": done.version_id, "experiment_id": experiment_id,
                "package_sha256": sha,
                # a port-forward's address dies with it: later steps open their own
                "kfp_host_forwarded": host not in (given, known, connect.IN_CLUSTER_HOST)}

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """The compiled package is still the one that was uploaded."""
        compiled = ctx.outputs_of("compile").get("package_sha256")
        if compiled and outputs.get("package_sha256") and compiled != outputs["package_sha256"]:
            return VerifyResult(False, "the compiled pipeline changed since it was uploaded")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """The equivalent kfp CLI commands."""
        return [cmd("kubectl", "port-forward", "-n", "kubeflow", "svc/ml-pipeline", "8888:8888"),
                cmd("kfp", "--endpoint", "http://localhost:8888", "pipeline", "create", "-p",
                    PIPELINE_NAME, "mnist_classification_pipeline.tar.gz"),
                cmd("kfp", "--endpoint", "http://localhost:8888", "experiment", "create",
                    EXPERIMENT_NAME)]
