"""SageMaker: the endpoint in service and callable, and nothing left running (and billing)."""

from __future__ import annotations

from wizard.doctor.context import DoctorContext, aws_error_code, short_error
from wizard.doctor.lab import age_s, classify
from wizard.doctor.model import Skip, check, fail, ok, warn
from wizard.ledger import TAG_KEY

DOC_ENDPOINT = "https://docs.aws.amazon.com/sagemaker/latest/dg/deploy-model.html"
DOC_INVOKE = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html"
DOC_CLEANUP = "https://docs.aws.amazon.com/sagemaker/latest/dg/ex1-cleanup.html"
#: an endpoint still Creating after this long is not going to make it
CREATING_LIMIT_S = 30 * 60


def _endpoints(ctx: DoctorContext) -> list[str]:
    """The lab's endpoint names, or Skip when there is none yet."""
    names = ctx.endpoint_names()
    if not names:
        raise Skip("the lab has no endpoint yet")
    return names


# gated on 'upload', not 'run-monitoring': an endpoint that never reaches InService fails the
# run, so run-monitoring never finishes; the check skips by itself until there is an endpoint
@check("endpoint-inservice", "Endpoint reached InService", area="sagemaker",
       doc_url=DOC_ENDPOINT, step="upload")
def endpoint_inservice(ctx: DoctorContext):
    """The lab's inference endpoint is InService (not Failed, not stuck Creating)."""
    sm = ctx.aws("sagemaker")
    cleaned = ctx.step_done("cleanup")
    report = []
    for name in _endpoints(ctx):
        try:
            desc = sm.describe_endpoint(EndpointName=name)
        except Exception as exc:  # noqa: BLE001
            if aws_error_code(exc) == "ValidationException":
                if cleaned:
                    continue  # removed by cleanup, as it should be
                return fail(f"Endpoint {name} does not exist (deleted, or never created).",
                            "Look at the pipeline's deploy task in the KFP UI; re-run the "
                            "pipeline ('labwiz run --from upload').", DOC_ENDPOINT)
            raise
        status = desc.get("EndpointStatus")
        if status == "Failed":
            reason = desc.get("FailureReason") or "(no reason given)"
            problem = classify(reason)
            return fail(f"Endpoint {name} is Failed: {reason[:300]}",
                        problem.remediation if problem else
                        "Read the reason and the endpoint's CloudWatch logs "
                        f"(/aws/sagemaker/Endpoints/{name}); delete the endpoint and deploy "
                        "again.", problem.doc_url if problem else None)
        if status in ("Creating", "Updating"):
            age = age_s(desc.get("LastModifiedTime") or desc.get("CreationTime"))
            if age is not None and age > CREATING_LIMIT_S:
                return fail(f"Endpoint {name} has been {status} for {age / 60:.0f} minutes; it "
                            "never reached InService.",
                            f"Check its CloudWatch logs (/aws/sagemaker/Endpoints/{name}) for "
                            "the container's health check, then delete it and deploy again.")
            return warn(f"Endpoint {name} is still {status}.",
                        "Wait a few minutes (hosting takes 5-10 minutes), then run the doctor "
                        "again.")
        if status != "InService":
            return fail(f"Endpoint {name} is {status}.",
                        "Delete it and deploy again from the pipeline.")
        report.append(name)
    if not report:
        raise Skip("the lab's endpoints have been removed by cleanup")
    return ok(f"InService: {', '.join(report)}.")


@check("endpoint-invoke", "InvokeEndpoint allowed", area="sagemaker", doc_url=DOC_INVOKE,
       slow=True, step="run-monitoring")
def endpoint_invoke(ctx: DoctorContext):
    """Your identity may call sagemaker:InvokeEndpoint on the lab's endpoint.

    The probe sends one empty-feature record; the model may reject it as input, which still
    proves the call was allowed, and no prediction is billed beyond one request.
    """
    runtime = ctx.aws("sagemaker-runtime")
    sm = ctx.aws("sagemaker")
    live = []
    for name in _endpoints(ctx):
        try:
            if sm.describe_endpoint(EndpointName=name).get("EndpointStatus") == "InService":
                live.append(name)
        except Exception:  # noqa: BLE001 - 'endpoint-inservice' reports a missing endpoint
            continue
    if not live:
        raise Skip("no endpoint is InService (see check 'endpoint-inservice')")
    name = live[0]
    try:
        runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"0")
    except Exception as exc:  # noqa: BLE001
        code = aws_error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied"):
            return fail(f"InvokeEndpoint on {name} was denied: {short_error(exc)}",
                        classify("InvokeEndpoint").remediation)
        if code in ("ValidationError", "ModelError", "ValidationException"):
            return ok(f"InvokeEndpoint on {name} is allowed (the probe's dummy record was "
                      "refused by the model, as expected).")
        raise
    return ok(f"InvokeEndpoint on {name} is allowed.")


def _running(sm) -> list[tuple[str, str, str]]:
    """(kind, name, arn) of SageMaker resources that bill while they exist or run."""
    out = []
    for page in sm.get_paginator("list_endpoints").paginate():
        for ep in page["Endpoints"]:
            if ep.get("EndpointStatus") not in ("Deleting", "Failed"):
                out.append(("endpoint", ep["EndpointName"], ep["EndpointArn"]))
    jobs = (("training job", "list_training_jobs", "TrainingJobSummaries", "TrainingJobName",
             "TrainingJobArn"),
            ("processing job", "list_processing_jobs", "ProcessingJobSummaries",
             "ProcessingJobName", "ProcessingJobArn"),
            ("tuning job", "list_hyper_parameter_tuning_jobs",
             "HyperParameterTuningJobSummaries", "HyperParameterTuningJobName",
             "HyperParameterTuningJobArn"),
            ("transform job", "list_transform_jobs", "TransformJobSummaries", "TransformJobName",
             "TransformJobArn"))
    for kind, op, key, name_key, arn_key in jobs:
        try:
            answer = getattr(sm, op)(StatusEquals="InProgress", MaxResults=100)
        except Exception:  # noqa: BLE001 - one listing failing must not hide the others
            continue
        for job in answer.get(key, []):
            out.append((kind, job[name_key], job[arn_key]))
    return out


@check("billing-leftovers", "Nothing left running after the lab", area="sagemaker",
       doc_url=DOC_CLEANUP, slow=True, step="endpoint-test")
def billing_leftovers(ctx: DoctorContext):
    """No endpoint or job of this lab is still running (and billing) after the lab."""
    sm = ctx.aws("sagemaker")
    lineage = ctx.doc.get("lineage")
    names = {r.get("name") for r in ctx.ledger()} | set(ctx.endpoint_names())
    arns = {r.get("arn") for r in ctx.ledger() if r.get("arn")}
    ours, others = [], []
    for kind, name, arn in _running(sm):
        mine = name in names or arn in arns
        if not mine and lineage:
            try:
                tags = sm.list_tags(ResourceArn=arn).get("Tags", [])
                mine = any(t.get("Key") == TAG_KEY and t.get("Value") == lineage for t in tags)
            except Exception:  # noqa: BLE001 - untaggable or gone: not ours by tag
                pass
        (ours if mine else others).append(f"{kind} {name}")
    region = ctx.region or ctx.clients.session.region_name
    if ours:
        return fail(f"Still running from this lab in {region}: {', '.join(ours)}; they bill "
                    "by the hour.",
                    "Run the cleanup step ('labwiz run --only cleanup'), or delete them: aws "
                    "sagemaker delete-endpoint --endpoint-name <name> (jobs: aws sagemaker "
                    "stop-training-job ...).")
    if others:
        return warn(f"Not from this lab but running in {region}: {', '.join(others[:8])}.",
                    "If they are yours and no longer needed, delete or stop them; they bill.")
    return ok(f"No endpoint or job is running in {region}.")
