"""What every resource kind shares: names, ARNs, Describe, List (filters, sort, pages), tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import shapes
from .errors import SageMakerError, duplicate, missing, validation


@dataclass(frozen=True)
class Kind:
    """One resource kind's field names and API names."""

    kind: str
    name_field: str
    arn_field: str
    arn_type: str
    status_field: str | None
    describe: str
    list_op: str


KINDS = {
    k.kind: k for k in (
        Kind("ProcessingJob", "ProcessingJobName", "ProcessingJobArn", "processing-job",
             "ProcessingJobStatus", "DescribeProcessingJob", "ListProcessingJobs"),
        Kind("TrainingJob", "TrainingJobName", "TrainingJobArn", "training-job",
             "TrainingJobStatus", "DescribeTrainingJob", "ListTrainingJobs"),
        Kind("TransformJob", "TransformJobName", "TransformJobArn", "transform-job",
             "TransformJobStatus", "DescribeTransformJob", "ListTransformJobs"),
        Kind("HyperParameterTuningJob", "HyperParameterTuningJobName",
             "HyperParameterTuningJobArn", "hyper-parameter-tuning-job",
             "HyperParameterTuningJobStatus", "DescribeHyperParameterTuningJob",
             "ListHyperParameterTuningJobs"),
        Kind("Model", "ModelName", "ModelArn", "model", None, "DescribeModel", "ListModels"),
        Kind("EndpointConfig", "EndpointConfigName", "EndpointConfigArn", "endpoint-config", None,
             "DescribeEndpointConfig", "ListEndpointConfigs"),
        Kind("Endpoint", "EndpointName", "EndpointArn", "endpoint", "EndpointStatus",
             "DescribeEndpoint", "ListEndpoints"),
    )
}


def require(app: Any, kind: str, name: str) -> dict:
    """The record, or SageMaker's not-found error for that kind."""
    record = app.store.get(kind, name)
    if record is None:
        raise missing(kind, name, app.ctx.arn(KINDS[kind].arn_type, name))
    return record


def claim(app: Any, kind: str, name: str, record: dict, tags: list | None) -> str:
    """Store a new record under a free name (atomically); its ARN. Raises the duplicate error."""
    info = KINDS[kind]
    arn = app.ctx.arn(info.arn_type, name)
    with app.store.lock:
        if app.store.exists(kind, name):
            raise duplicate(kind, name, arn)
        record.update({"_name": name, info.arn_field: arn})
        app.store.put(kind, name, record)
        app.store.set_tags(arn, tags)
    return arn


def request_part(params: dict) -> dict:
    """The request's fields that the resource keeps (Tags live apart)."""
    return {key: value for key, value in params.items() if key != "Tags"}


def describe(app: Any, kind: str, name: str) -> dict:
    """A Describe* answer for one record."""
    return shapes.output(KINDS[kind].describe, require(app, kind, name))


def _filter(records: list[dict], params: dict, name_field: str, status_field: str | None):
    """Apply the List* filters SageMaker offers."""
    out = []
    for rec in records:
        if params.get("NameContains") and params["NameContains"] not in rec.get(name_field, ""):
            continue
        if params.get("StatusEquals") and status_field and \
                rec.get(status_field) != params["StatusEquals"]:
            continue
        created, modified = rec.get("CreationTime", 0), rec.get("LastModifiedTime", 0)
        if "CreationTimeAfter" in params and not created > params["CreationTimeAfter"]:
            continue
        if "CreationTimeBefore" in params and not created < params["CreationTimeBefore"]:
            continue
        if "LastModifiedTimeAfter" in params and not modified > params["LastModifiedTimeAfter"]:
            continue
        if "LastModifiedTimeBefore" in params and not modified < params["LastModifiedTimeBefore"]:
            continue
        out.append(rec)
    return out


def page(op_name: str, records: list[dict], params: dict, name_field: str,
         status_field: str | None) -> dict:
    """Filter, sort and cut one page of a List* answer (NextToken is an offset)."""
    records = _filter(records, params, name_field, status_field)
    sort_by = params.get("SortBy", "CreationTime")
    key_field = {"Name": name_field, "Status": status_field}.get(sort_by, sort_by)
    records.sort(key=lambda r: (r.get(key_field) is None, r.get(key_field) or 0),
                 reverse=params.get("SortOrder", "Descending") == "Descending")
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise validation(f"Invalid pagination token '{params.get('NextToken')}'.") from None
    size = int(params.get("MaxResults") or 10)
    list_name, item_shape = shapes.list_member(op_name)
    chunk = records[start:start + size]
    result: dict[str, Any] = {list_name: [shapes.project(item_shape, r) for r in chunk]}
    if start + size < len(records):
        result["NextToken"] = str(start + size)
    return result


def list_kind(app: Any, kind: str, params: dict) -> dict:
    """A List* answer for every record of ``kind`` (tuning children included)."""
    info = KINDS[kind]
    return page(info.list_op, app.store.all(kind), params, info.name_field, info.status_field)


def _by_arn(app: Any, arn: str) -> tuple[str, dict] | None:
    """The record an ARN names, with its kind."""
    resource = arn.split(":", 5)[-1]
    type_name, _, name = resource.partition("/")
    for kind, info in KINDS.items():
        if info.arn_type != type_name:
            continue
        for record in app.store.all(kind):
            if record.get(info.arn_field) == arn or record.get("_name", "").lower() == name:
                return kind, record
    return None


def _tagged(app: Any, arn: str) -> str:
    """The stored ARN of the resource ``arn`` names; ValidationException if there is none."""
    found = _by_arn(app, arn)
    if found is None:
        raise validation(f"Resource {arn} does not exist or you do not have access to it.")
    kind, record = found
    return record[KINDS[kind].arn_field]


def add_tags(app: Any, params: dict) -> dict:
    """AddTags: set or replace tags by key; answers with the resource's tags."""
    arn = _tagged(app, params["ResourceArn"])
    with app.store.lock:
        current = {t["Key"]: t for t in app.store.tags(arn)}
        for tag in params["Tags"]:
            current[tag["Key"]] = tag
        if len(current) > 50:
            raise SageMakerError("ResourceLimitExceeded",
                                 "A resource can have at most 50 tags.")
        app.store.set_tags(arn, list(current.values()))
    return {"Tags": params["Tags"]}


def list_tags(app: Any, params: dict) -> dict:
    """ListTags: the resource's tags, paged."""
    arn = _tagged(app, params["ResourceArn"])
    tags = app.store.tags(arn)
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 50)
    out: dict[str, Any] = {"Tags": tags[start:start + size]}
    if start + size < len(tags):
        out["NextToken"] = str(start + size)
    return out


def delete_tags(app: Any, params: dict) -> dict:
    """DeleteTags: drop the named keys."""
    arn = _tagged(app, params["ResourceArn"])
    with app.store.lock:
        drop = set(params["TagKeys"])
        app.store.set_tags(arn, [t for t in app.store.tags(arn) if t["Key"] not in drop])
    return {}


OPERATIONS = {"AddTags": add_tags, "ListTags": list_tags, "DeleteTags": delete_tags}
