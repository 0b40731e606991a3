"""The cleanup plan: what the lab created, as items in the order they must go.

Sources, from most to least direct: the ledger (every resource a step created), the run's
``resources`` and ``endpoint_name`` (what the pipeline created), custom resources carrying the
lab's lineage label, the SageMaker resources those custom resources point to (their spec names
and status ARNs), and SageMaker resources tagged with the lab's lineage (what a pipeline created
and nothing else remembers: a custom resource deleted by hand, a run the wizard never saw end).
Nothing else is ever planned, so what the wizard did not create survives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from wizard.protocol import Context, Reporter

ACK_GROUP = "sagemaker.services.k8s.aws"
ACK_VERSION = "v1alpha1"

#: ACK kinds: plural, the SageMaker item kind behind it, and its spec's name field
CR_KINDS = {
    "Endpoint": ("endpoints", "sagemaker-endpoint", "endpointName"),
    "EndpointConfig": ("endpointconfigs", "sagemaker-endpoint-config", "endpointConfigName"),
    "Model": ("models", "sagemaker-model", "modelName"),
    "TransformJob": ("transformjobs", "sagemaker-transform-job", "transformJobName"),
    "HyperParameterTuningJob": ("hyperparametertuningjobs", "sagemaker-tuning-job",
                                "hyperParameterTuningJobName"),
    "TrainingJob": ("trainingjobs", "sagemaker-training-job", "trainingJobName"),
    "ProcessingJob": ("processingjobs", "sagemaker-processing-job", "processingJobName"),
}
PLURAL_KIND = {plural: kind for kind, (plural, _sm, _field) in CR_KINDS.items()}

#: removal order: users of a thing go before the thing (runs before pipelines, endpoints before
#: their configs and models, objects before their bucket, keys and policies before users and roles)
ORDER = ["kfp-run", "custom-resource", "sagemaker-endpoint", "sagemaker-training-job",
         "sagemaker-processing-job", "sagemaker-tuning-job", "sagemaker-transform-job",
         "sagemaker-endpoint-config", "sagemaker-model", "kfp-pipeline-version", "kfp-pipeline",
         "kfp-experiment", "s3-prefix", "s3-object", "s3-bucket", "k8s-annotation", "k8s-secret",
         "k8s-rolebinding", "k8s-role", "iam-trust", "iam-access-key", "iam-policy", "iam-user",
         "iam-role"]


@dataclass
class Item:
    """One thing to remove. ``ledger`` is the (kind, name) of its ledger row, when it has one."""

    kind: str
    name: str
    namespace: str | None = None
    arn: str | None = None
    details: dict = field(default_factory=dict)
    source: str = "ledger"
    ledger: tuple | None = None

    @property
    def key(self) -> tuple:
        """Identity for de-duplication."""
        return (self.kind, self.namespace or "", self.name)

    def to_dict(self) -> dict:
        """JSON form, as kept in the step's outputs."""
        out = asdict(self)
        out["ledger"] = list(self.ledger) if self.ledger else None
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Item":
        """Back from :meth:`to_dict` (extra keys such as ``result`` ignored)."""
        known = {k: data.get(k) for k in ("kind", "name", "namespace", "arn", "source")}
        return cls(**known, details=dict(data.get("details") or {}),
                   ledger=tuple(data["ledger"]) if data.get("ledger") else None)


def _cr_item(kind: str, name: str, namespace: str, source: str, ledger=None) -> Item:
    """A custom-resource item named ``plural/name``."""
    plural = CR_KINDS.get(kind, (kind.lower() + "s",))[0]
    return Item("custom-resource", f"{plural}/{name}", namespace=namespace, source=source,
                details={"kind": kind, "plural": plural, "cr_name": name}, ledger=ledger)


def from_ledger(ctx: Context) -> list[Item]:
    """An item for every live ledger row (custom resources normalised to ``plural/name``)."""
    items = []
    for row in ctx.ledger.entries():
        ref = (row["kind"], row["name"])
        details = dict(row.get("details") or {})
        if row["kind"] == "custom-resource":
            kind = details.get("kind") or PLURAL_KIND.get(details.get("plural", ""), "")
            name = details.get("cr_name") or row["name"].split("/")[-1]
            items.append(_cr_item(kind, name, row.get("namespace") or details.get("namespace"),
                                  "ledger", ref))
        else:
            items.append(Item(row["kind"], row["name"], namespace=row.get("namespace"),
                              arn=row.get("arn"), details=details, ledger=ref))
    return items


def from_run(ctx: Context) -> list[Item]:
    """Items for what the pipeline run reported: its custom resources, endpoint and model."""
    run = ctx.outputs_of("run-monitoring")
    items = []
    namespace = ctx.outputs_of("credentials").get("namespace")
    for res in run.get("resources") or []:
        kind = res.get("kind") or PLURAL_KIND.get(res.get("plural", ""), "")
        if kind and res.get("name"):
            items.append(_cr_item(kind, res["name"], res.get("namespace") or namespace, "run"))
    if run.get("endpoint_name"):
        items.append(Item("sagemaker-endpoint", run["endpoint_name"], source="run"))
    artifact = run.get("model_artifact")
    if isinstance(artifact, str) and artifact.startswith("s3://"):
        items.append(Item("s3-object", artifact, source="run"))
    return items


def from_labels(ctx: Context, namespace: str | None) -> list[Item]:
    """Custom resources in the namespace labelled with this lab's lineage."""
    if not namespace:
        return []
    from wizard import k8s
    from wizard.ledger import LABEL_KEY

    api = ctx.clients.custom_objects()
    items = []
    for kind, (plural, _sm, _field) in CR_KINDS.items():
        try:
            found = api.list_namespaced_custom_object(
                ACK_GROUP, ACK_VERSION, namespace, plural,
                label_selector=f"{LABEL_KEY}={ctx.ledger.lineage}").get("items", [])
        except k8s.api_exception() as exc:
            if exc.status == 404:  # this CRD is not installed
                continue
            raise k8s.explain(exc, f"listing {plural} in {namespace}") from None
        items += [_cr_item(kind, o["metadata"]["name"], namespace, "label") for o in found]
    return items


#: the tag sweep: item kind -> (list operation, list key, name key, arn key, only this status)
TAGGED = {
    "sagemaker-endpoint": ("list_endpoints", "Endpoints", "EndpointName", "EndpointArn", None),
    "sagemaker-endpoint-config": ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName",
                                  "EndpointConfigArn", None),
    "sagemaker-model": ("list_models", "Models", "ModelName", "ModelArn", None),
    # a finished job bills nothing and cannot be deleted: only running ones matter
    "sagemaker-training-job": ("list_training_jobs", "TrainingJobSummaries", "TrainingJobName",
                               "TrainingJobArn", "InProgress"),
    "sagemaker-processing-job": ("list_processing_jobs", "ProcessingJobSummaries",
                                 "ProcessingJobName", "ProcessingJobArn", "InProgress"),
    "sagemaker-transform-job": ("list_transform_jobs", "TransformJobSummaries", "TransformJobName",
                                "TransformJobArn", "InProgress"),
    "sagemaker-tuning-job": ("list_hyper_parameter_tuning_jobs",
                             "HyperParameterTuningJobSummaries", "HyperParameterTuningJobName",
                             "HyperParameterTuningJobArn", "InProgress"),
}


def _lab_started(ctx: Context):
    """When the lab created its first resource (the oldest ledger row), or None."""
    import datetime as dt

    stamps = [r.get("created_at") for r in ctx.ledger.entries(live_only=False)
              if r.get("created_at")]
    if not stamps:
        return None
    first = min(stamps).replace("Z", "+00:00")
    # a minute early: the clocks of this machine and AWS need not agree to the second
    return dt.datetime.fromisoformat(first) - dt.timedelta(minutes=1)


#: at most this many resources have their tags read in one sweep (a busy shared account must
#: not turn cleanup into hundreds of calls); past it the sweep says so and stops
TAG_SWEEP_LIMIT = 200


def from_tags(ctx: Context, reporter: Reporter | None = None) -> list[Item]:
    """SageMaker resources created since the lab began that carry its lineage tag (jobs: only
    those still running).

    Listing is bounded by creation time, so an account's history is not read, and by
    :data:`TAG_SWEEP_LIMIT`. The sweep is a safety net behind the ledger, the run and the labels:
    when the identity may not list or read tags (AccessDenied) it is skipped with a warning
    rather than blocking the cleanup of everything else; other AWS failures say what to do.
    """
    from wizard.aws.errors import error_code, explain as explain_aws
    from wizard.ledger import TAG_KEY
    from wizard.protocol import cmd

    since = _lab_started(ctx)
    if since is None:
        return []
    if reporter is not None:
        reporter.command(cmd("aws", "sagemaker", "list-endpoints", "--creation-time-after",
                             since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             note="and likewise endpoint configs, models and running jobs; "
                             "then each one's tags, looking for the lab's lineage"))
        # the same question in one call a learner can run as printed (the wizard reads each
        # resource's tags instead: the tagging API may be denied where sagemaker:ListTags is not)
        reporter.command(cmd("aws", "resourcegroupstaggingapi", "get-resources",
                             "--resource-type-filters", "sagemaker", "--tag-filters",
                             f"Key={TAG_KEY},Values={ctx.ledger.lineage}",
                             note="the SageMaker resources carrying the lab's lineage tag"))
    sm = ctx.clients.aws("sagemaker")
    items: list[Item] = []
    read = 0
    try:
        for kind, (op, key, name_key, arn_key, status) in TAGGED.items():
            args = {"CreationTimeAfter": since, "MaxResults": 100}
            if status:
                args["StatusEquals"] = status
            token = None
            while True:
                page = getattr(sm, op)(**args, **({"NextToken": token} if token else {}))
                for row in page.get(key) or []:
                    arn = row.get(arn_key)
                    if not arn:
                        continue
                    if read >= TAG_SWEEP_LIMIT:
                        if reporter is not None:
                            reporter.log(f"Read the tags of {read} SageMaker resources created "
                                         "since the lab began and stopped there; anything "
                                         "further is found through the ledger and the run only.",
                                         "warning")
                        return items
                    read += 1
                    tags = sm.list_tags(ResourceArn=arn).get("Tags") or []
                    if {t.get("Key"): t.get("Value") for t in tags}.get(TAG_KEY) == \
                            ctx.ledger.lineage:
                        items.append(Item(kind, row[name_key], arn=arn, source="lineage tag"))
                token = page.get("NextToken")
                if not token:
                    break
    except Exception as exc:  # noqa: BLE001 - classified just below
        if error_code(exc) in ("AccessDenied", "AccessDeniedException"):
            if reporter is not None:
                reporter.log("Skipped looking for SageMaker resources by the lab's tag: this "
                             "identity may not list them or read their tags "
                             "(sagemaker:List*, sagemaker:ListTags).", "warning")
            return items
        raise explain_aws(exc, "listing SageMaker resources by the lab's tag") from None
    return items


def behind_custom_resources(ctx: Context, crs: list[Item]) -> list[Item]:
    """The SageMaker resources and S3 outputs the custom resources stand for (read before they go)."""
    from wizard import k8s

    api = ctx.clients.custom_objects()
    items = []
    for cr in crs:
        kind, plural = cr.details["kind"], cr.details["plural"]
        try:
            obj = api.get_namespaced_custom_object(ACK_GROUP, ACK_VERSION, cr.namespace, plural,
                                                   cr.details["cr_name"])
        except k8s.api_exception() as exc:
            if exc.status == 404:
                continue
            raise k8s.explain(exc, f"reading {plural}/{cr.details['cr_name']}") from None
        spec = obj.get("spec") or {}
        arn = ((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("arn")
        cr.arn = cr.arn or arn
        if kind in CR_KINDS:
            _plural, sm_kind, name_field = CR_KINDS[kind]
            name = spec.get(name_field) or cr.details["cr_name"]
            items.append(Item(sm_kind, name, arn=arn, source=f"custom resource {cr.name}"))
        items += [Item("s3-prefix", p, source=f"output of {cr.name}") for p in _outputs(kind, spec)]
    return items


def _outputs(kind: str, spec: dict) -> list[str]:
    """S3 prefixes a job of the lab wrote to (its own outputs only)."""
    def join(base: str, tail: str) -> str:
        """An S3 URI joined with a tail."""
        return base.rstrip("/") + "/" + tail
    if kind == "TrainingJob" and (spec.get("outputDataConfig") or {}).get("s3OutputPath"):
        return [join(spec["outputDataConfig"]["s3OutputPath"], f"{spec.get('trainingJobName')}/")]
    if kind == "HyperParameterTuningJob":
        path = ((spec.get("trainingJobDefinition") or {}).get("outputDataConfig") or {}).get("s3OutputPath")
        return [join(path, f"{spec.get('hyperParameterTuningJobName')}-")] if path else []
    if kind == "ProcessingJob":
        outs = (spec.get("processingOutputConfig") or {}).get("outputs") or []
        # a trailing slash, so that lab1/train_data never matches lab1/train_data_old/...
        return [join(o["s3Output"]["s3URI"], "") for o in outs
                if (o.get("s3Output") or {}).get("s3URI")]
    if kind == "TransformJob" and (spec.get("transformOutput") or {}).get("s3OutputPath"):
        return [join(spec["transformOutput"]["s3OutputPath"], "")]
    return []


def behind_endpoints(ctx: Context, endpoints: list[Item]) -> list[Item]:
    """The endpoint configs and models behind the lab's endpoints (read before they go)."""
    sm = ctx.clients.aws("sagemaker")
    items = []
    for endpoint in endpoints:
        try:
            config = sm.describe_endpoint(EndpointName=endpoint.name)["EndpointConfigName"]
            variants = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        except Exception:  # noqa: BLE001 - gone (or half gone): nothing more to find from it
            continue
        items.append(Item("sagemaker-endpoint-config", config, source=f"endpoint {endpoint.name}"))
        items += [Item("sagemaker-model", v["ModelName"], source=f"endpoint {endpoint.name}")
                  for v in variants if v.get("ModelName")]
    return items


def build_plan(ctx: Context, reporter: Reporter, *, offline: bool = False) -> list[Item]:
    """Every item to remove, de-duplicated and in removal order. ``offline`` uses only the state
    (for ``--explain``)."""
    namespace = ctx.outputs_of("credentials").get("namespace") or ctx.input("namespace")
    items = from_ledger(ctx) + from_run(ctx)
    if not offline:
        items += from_labels(ctx, namespace)
    merged: dict[tuple, Item] = {}
    for item in items:
        if item.key in merged:  # keep the ledger's reference when both know the item
            merged[item.key].ledger = merged[item.key].ledger or item.ledger
        else:
            merged[item.key] = item
    if not offline:
        crs = [i for i in merged.values() if i.kind == "custom-resource"]
        extra = behind_custom_resources(ctx, crs)
        extra += from_tags(ctx, reporter)
        extra += behind_endpoints(ctx, [i for i in list(merged.values()) + extra
                                        if i.kind == "sagemaker-endpoint"])
        for item in extra:
            merged.setdefault(item.key, item)
        # kept in the state before anything goes; a resumed cleanup plans what the first found
        for saved in ctx.ledger.remember_plan([i.to_dict() for i in merged.values()]):
            item = Item.from_dict(saved)
            merged.setdefault(item.key, item)
    rank = {kind: n for n, kind in enumerate(ORDER)}
    cr_rank = {plural: n for n, (plural, _s, _f) in enumerate(CR_KINDS.values())}
    return sorted(merged.values(), key=lambda i: (
        rank.get(i.kind, len(ORDER)), cr_rank.get(i.details.get("plural"), 99), i.name))
