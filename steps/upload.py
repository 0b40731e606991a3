"""Lab step 'upload': upload the pipeline to Kubeflow Pipelines and prepare an experiment."""

from __future__ import annotations

import os
from pathlib import Path

from wizard import validate
from wizard.errors import InputError
from wizard.protocol import (Command, Context, InputSpec, Reporter, Resource, Step,
                             VerifyResult, cmd)

PIPELINE_NAME = "mnist-classification-pipeline"
EXPERIMENT_NAME = "mnist-kmeans-lab"


# -- the commands of this step (the same builders serve the run and --explain) ------------------
def kfp_command(host, namespace: str | None, *args, note: str = "") -> Command:
    """A ``kfp`` CLI command; ``--endpoint`` and ``--namespace`` are the CLI's global options
    (before the noun), and no ``--endpoint`` means the CLI reads ``$KF_PIPELINES_ENDPOINT``."""
    head = ["kfp"] + (["--endpoint", host] if host else [])
    head += ["--namespace", namespace] if namespace else []
    return cmd(*head, *args, note=note)


def pipeline_command(host, namespace, name: str, path, published=None,
                     version_name: str = "") -> Command:
    """What publishing did: a new pipeline, a new version of it, or nothing (shown with get)."""
    if published is None or published.created_pipeline:
        return kfp_command(host, namespace, "pipeline", "create", "-p", name, str(path),
                           note="a pipeline that exists gets a new version instead: 'kfp pipeline "
                           "create-version -p <pipeline-id> -v <version-name> <package>'")
    if published.created_version:
        return kfp_command(host, namespace, "pipeline", "create-version", "-p",
                           published.pipeline_id, "-v", version_name, str(path))
    return kfp_command(host, namespace, "pipeline", "get-version", published.pipeline_id,
                       published.version_id, note="the same package is there already: reused")


def experiment_command(host, namespace, experiment_id: str | None = None,
                       created: bool = True) -> Command:
    """The experiment, created or (when it exists) looked at."""
    if created or not experiment_id:
        return kfp_command(host, namespace, "experiment", "create", EXPERIMENT_NAME)
    return kfp_command(host, namespace, "experiment", "get", experiment_id,
                       note="it exists already: reused")


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
            def intent(kind, what, details):
                """The ledger's intent for a KFP object this step is about to create."""
                return ctx.ledger.intent(Resource(kind=kind, name=what, step=self.id,
                                                  namespace=namespace if kind == "kfp-experiment"
                                                  else None, details={**details, "host": host}))
            done = publish.publish(client, path, name, sha, "MNIST k-means on SageMaker", intent)
            reporter.command(pipeline_command(host, namespace, name, path, done,
                                              publish.version_name(name, sha)))
            # the learner's own pipeline (or version) of the same name is reused, never the lab's
            pipe = Resource(kind="kfp-pipeline", name=name, step=self.id,
                            details={"pipeline_id": done.pipeline_id, "host": host})
            (ctx.ledger.record if done.created_pipeline else ctx.ledger.reused)(pipe)
            version = Resource(kind="kfp-pipeline-version", name=done.version_id, step=self.id,
                               details={"pipeline_id": done.pipeline_id, "sha256": sha})
            (ctx.ledger.record if done.created_version else ctx.ledger.reused)(version)
            reporter.log(("Uploaded" if done.created_version else "Reusing") +
                         f" pipeline {name}, version {done.version_id}.", "success")
            experiment_id, created = publish.ensure_experiment(client, EXPERIMENT_NAME, namespace,
                                                               intent)
            reporter.command(experiment_command(host, namespace, experiment_id, created))
            (ctx.ledger.record if created else ctx.ledger.reused)(Resource(
                kind="kfp-experiment", name=EXPERIMENT_NAME, step=self.id, namespace=namespace,
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
        """The equivalent kfp CLI commands, on the package the compile step writes."""
        from wizard.kfp_ops.package import PACKAGE_BASENAME

        host = ctx.input("kfp_host") or ctx.target.kfp_host
        namespace = (ctx.outputs_of("credentials").get("namespace") or ctx.input("namespace")
                     or ctx.target.namespace)
        path = ctx.input("package_path") or ctx.outputs_of("compile").get("package_path") or (
            Path(ctx.state_dir) / "pipeline" / f"{PACKAGE_BASENAME}.tar.gz")
        note = ("KFP's address is $KF_PIPELINES_ENDPOINT; from outside the cluster: "
                "kubectl port-forward -n kubeflow svc/ml-pipeline 8888:8888 & "
                "export KF_PIPELINES_ENDPOINT=http://localhost:8888")
        first = pipeline_command(host, namespace, PIPELINE_NAME, path)
        return [Command(first.argv, note=note), experiment_command(host, namespace)]
