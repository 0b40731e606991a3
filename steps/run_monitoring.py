"""Lab step 'run-monitoring': start the pipeline run and follow it to the end."""

from __future__ import annotations

from wizard.errors import InputError
from wizard.protocol import Context, Reporter, Resource, Step, VerifyResult, cmd


#: how long a sandbox run's tasks wait on ACK.Recoverable before failing (real AWS: the
#: pipeline's default, 600 s)
SANDBOX_RECOVERABLE_TIMEOUT_S = 90


def run_parameters(ctx: Context) -> dict:
    """The run's parameters from the earlier steps' outputs."""
    from wizard.kfp_ops.images import processing_image_uri
    from wizard.kmeans_images import kmeans_image_uri

    creds, data = ctx.outputs_of("credentials"), ctx.outputs_of("data-upload")
    region = ctx.target.region or creds.get("region") or data.get("region")
    role = creds.get("execution_role_arn")
    if not role or not data.get("bucket"):
        raise InputError("The execution role or the bucket is not known.",
                         remediation="Run the credentials and data-upload steps first.")
    params = {"role_arn": role, "bucket": data["bucket"], "region": region,
            "prefix": data.get("prefix") or "lab1", "kmeans_image": kmeans_image_uri(region),
            "processing_image": processing_image_uri(region),
            "data_uri": data.get("data_uri") or "", "script_uri": data.get("script_uri") or "",
            # the sandbox finishes in seconds: poll often there; real jobs take minutes
            "poll_interval_seconds": 1 if ctx.target.is_sandbox else 30,
            # labels the run's custom resources and tags their SageMaker resources for cleanup
            "lineage": ctx.ledger.lineage}
    if ctx.target.is_sandbox:
        # a fault demo (training=ResourceLimitExceeded) stays ACK.Recoverable for ever; the
        # default 600 s would hold an instructor's terminal for ten minutes before failing
        params["recoverable_timeout_seconds"] = SANDBOX_RECOVERABLE_TIMEOUT_S
    return params


class RunMonitoringStep(Step):
    """Start the pipeline run and follow it to the end."""

    id = "run-monitoring"
    title = "Run monitoring"
    summary = "Start the pipeline run and follow it to the end."
    lesson = """A run executes each component as a pod; each pod creates a SageMaker custom resource and waits for it. The
wizard shows every task's state, the SageMaker jobs' statuses and the tail of their logs. If you stop the
wizard, the run goes on, and the wizard re-attaches to it when you come back."""
    creates = ('kfp-run', 'custom-resource')

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Start the run (or re-attach to the one already started) and follow it."""
        from assets.pipeline.naming import resource_names
        from wizard.kfp_ops import connect, monitor, package

        up, compiled = ctx.outputs_of("upload"), ctx.outputs_of("compile")
        if not up.get("version_id"):
            raise InputError("The pipeline is not uploaded yet.",
                             remediation="Run the upload step first.")
        spec = package.read_spec(compiled.get("yaml_path") or compiled["package_path"])
        graph = monitor.task_graph(spec)
        namespace = ctx.outputs_of("credentials").get("namespace") or ctx.target.namespace
        params = run_parameters(ctx)
        declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
        for older in ("lineage", "recoverable_timeout_seconds"):
            if older not in declared:  # a package compiled by an older labwiz: KFP refuses it
                params.pop(older, None)
        connect.apply_credentials(ctx, ctx.input("kfp_token"), ctx.input("kfp_cookie"))
        given = None if up.get("kfp_host_forwarded") else up.get("kfp_host")
        with connect.kfp_connection(ctx, reporter, given) as (client, host):
            run_id = self._attach_or_start(ctx, reporter, client, up, params, namespace, host)
            follower = monitor.Follower(ctx, reporter, client, run_id, graph, namespace,
                                        fast=ctx.target.is_sandbox)
            run = follower.follow()
            ctx.ledger.record(Resource(kind="kfp-run", name=run_id,
                                       details={"state": str(run.state)}))
            monitor.raise_for(run, follower)
        names = resource_names(run_id)
        artifact = self._model_artifact(ctx, namespace, names["train"])
        return {"run_id": run_id, "run_state": str(run.state), "endpoint_name": names["ep"],
                "model_artifact": artifact, "namespace": namespace,
                # the run's final picture, so a front-end opened later can show it
                "tasks": [{"name": t["name"], "state": t["state"], "depends_on": t["depends_on"]}
                          for t in (follower.last_graph or {}).get("tasks", [])],
                "resources": [{"kind": r["kind"], "name": r["name"], "status": r["status"],
                               "arn": r["arn"]} for r in follower.resources]}

    def _attach_or_start(self, ctx, reporter, client, up, params, namespace, host) -> str:
        """The run id of this lab's live run, starting one when there is none."""
        from wizard.kfp_ops import monitor
        from wizard.kfp_ops.connect import translate

        live = [r for r in ctx.ledger.entries(kind="kfp-run")
                if r.get("details", {}).get("version_id") == up["version_id"]
                and r.get("details", {}).get("state") not in ("SUCCEEDED", "FAILED", "CANCELED")]
        if live:
            reporter.log(f"Re-attaching to run {live[-1]['name']} started earlier.")
            return live[-1]["name"]
        attempt = len(ctx.ledger.entries(kind="kfp-run", live_only=False)) + 1
        run_name = f"mnist-kmeans-{ctx.ledger.lineage[:8]}-{attempt}"
        lost = monitor.find_existing_run(client, up["experiment_id"], run_name, namespace)
        if lost is not None:  # started, then the wizard died before writing the ledger
            run_id = lost.run_id
            reporter.log(f"Found run {run_id} ({run_name}) started earlier; re-attaching.")
        else:
            # --namespace is the CLI's global option: the experiment lives in the profile's
            reporter.command(cmd("kfp", "--endpoint", host,
                                 *(["--namespace", namespace] if namespace else []),
                                 "run", "create", "--experiment-name",
                                 "mnist-kmeans-lab", "--run-name", run_name, "--version",
                                 up["version_id"], "--pipeline-id", up["pipeline_id"],
                                 *[f"{k}={v}" for k, v in params.items()]))
            try:
                # the run's id is the server's: the intent names the run, the confirmation its id
                with ctx.ledger.intent(Resource(
                        kind="kfp-run", name=run_name, step=self.id, namespace=namespace,
                        details={"run_name": run_name, "host": host, "state": "RUNNING",
                                 "version_id": up["version_id"],
                                 "experiment_id": up["experiment_id"]})) as made:
                    run = client.run_pipeline(experiment_id=up["experiment_id"], job_name=run_name,
                                              params=params, pipeline_id=up["pipeline_id"],
                                              version_id=up["version_id"], enable_caching=False)
                    made.name = run.run_id
            except Exception as exc:  # noqa: BLE001
                raise translate(exc, "starting the run") from None
            run_id = run.run_id
        ctx.ledger.record(Resource(kind="kfp-run", name=run_id, step=self.id, namespace=namespace,
                                   details={"run_name": run_name, "host": host, "state": "RUNNING",
                                            "version_id": up["version_id"],
                                            "experiment_id": up["experiment_id"]}))
        reporter.log(f"Run {run_id} ({run_name}) started: {host}/#/runs/details/{run_id}")
        return run_id

    @staticmethod
    def _model_artifact(ctx, namespace: str, train_name: str) -> str:
        """The training job's model artifact, from its custom resource."""
        from wizard.kfp_ops.resources import GROUP, VERSION

        try:
            obj = ctx.clients.custom_objects().get_namespaced_custom_object(
                GROUP, VERSION, namespace, "trainingjobs", train_name)
        except Exception:  # noqa: BLE001 - the artifact is informative; the run succeeded
            return ""
        return ((obj.get("status") or {}).get("modelArtifacts") or {}).get("s3ModelArtifacts", "")

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """The run succeeded (checked when it ended; the endpoint is checked by endpoint-test)."""
        if outputs.get("run_state") != "SUCCEEDED":
            return VerifyResult(False, f"the run ended {outputs.get('run_state')}")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """The equivalent commands: start the run, watch it and its resources."""
        namespace = ctx.target.namespace or "kubeflow-user-example-com"
        # --namespace is the CLI's global option: the lab's experiment is in the profile's
        return [cmd("kfp", "--namespace", namespace, "run", "create", "--experiment-name",
                    "mnist-kmeans-lab",
                    "--pipeline-id", "<pipeline id>", "role_arn=<execution role ARN>",
                    "bucket=<bucket>"),
                cmd("kfp", "run", "get", "<run id>"),
                cmd("kubectl", "get", "processingjobs,hyperparametertuningjobs,trainingjobs,"
                    "models,endpointconfigs,endpoints,transformjobs", "-n",
                    ctx.target.namespace or "kubeflow-user-example-com")]
