"""Hyperparameter tuning jobs: several k-means training jobs over the given ranges.

Strategies: ``Random`` samples each range (Integer/Continuous with Linear, Logarithmic or
ReverseLogarithmic scaling; Categorical uniformly); ``Bayesian`` and ``Hyperband`` are treated as
Random here (documented); ``Grid`` walks every combination of the categorical ranges. At most
MaxParallelTrainingJobs run at once and MaxNumberOfTrainingJobs in all. Training jobs are named
as SageMaker names them: ``<tuning job>-<3-digit index>-<8 hex digits>``, and carry
``_tuning_objective_metric`` among their hyperparameters.
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
import zlib
from typing import Any, Iterator

from wizard.kmeans_images import parse_kmeans_image

from . import shapes
from .common import KINDS, claim, describe, list_kind, page, request_part, require
from .context import now
from .errors import validation
from .jobs import drive, finish_record, stop_job, training_record

KMEANS_OBJECTIVES = ("test:msd", "test:ssd")
_COPIED = ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
           "ResourceConfig", "StoppingCondition", "VpcConfig", "EnableNetworkIsolation",
           "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
           "CheckpointConfig", "Environment", "RetryStrategy")
_SCALES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")


def _number(text: str, kind: type, where: str) -> float:
    """A range bound (sent as a string) as a number; ValidationException otherwise."""
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise validation(f"{where} '{text}' is not a valid {kind.__name__} value.") from None


def _ranges(ranges: dict, static: dict) -> list[tuple[str, str, Any]]:
    """[(name, kind, spec)] of every parameter range (a ParameterRanges), checked."""
    out: list[tuple[str, str, Any]] = []
    for kind, num in (("IntegerParameterRanges", int), ("ContinuousParameterRanges", float)):
        for item in ranges.get(kind) or []:
            low = _number(item["MinValue"], num, f"MinValue of {item['Name']}")
            high = _number(item["MaxValue"], num, f"MaxValue of {item['Name']}")
            scale = item.get("ScalingType", "Auto")
            if low > high:
                raise validation(f"The MinValue of hyperparameter {item['Name']} is greater than "
                                 "its MaxValue.")
            if scale == "Logarithmic" and low <= 0:
                raise validation(f"Logarithmic scaling of {item['Name']} needs a MinValue above 0.")
            if scale == "ReverseLogarithmic" and (num is int or not 0 <= low <= high < 1):
                raise validation(f"ReverseLogarithmic scaling of {item['Name']} needs a continuous "
                                 "range within [0, 1).")
            out.append((item["Name"], "int" if num is int else "float", (low, high, scale)))
    for item in ranges.get("CategoricalParameterRanges") or []:
        out.append((item["Name"], "cat", list(item["Values"])))
    names = [name for name, _, _ in out]
    for name in names:
        if names.count(name) > 1:
            raise validation(f"Hyperparameter {name} has more than one range.")
        if name in static:
            raise validation(f"Hyperparameter {name} is both static and tunable; give it in "
                             "StaticHyperParameters or in ParameterRanges, not both.")
    return out


def _sample(rng: random.Random, kind: str, spec: Any) -> str:
    """One value from a range, as the string SageMaker passes to the algorithm."""
    if kind == "cat":
        return rng.choice(spec)
    low, high, scale = spec
    if scale == "Logarithmic":
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    elif scale == "ReverseLogarithmic":
        value = 1 - math.exp(rng.uniform(math.log(1 - high), math.log(1 - low)))
    else:
        value = rng.uniform(low, high)
    if kind == "int":
        return str(min(int(high), max(int(low), int(round(value)))))
    return repr(min(high, max(low, value)))


def candidates(name: str, strategy: str, ranges: list) -> Iterator[dict]:
    """Tuned hyperparameter sets in launch order (seeded by the job name: repeatable)."""
    if strategy == "Grid":
        names = [n for n, _, _ in ranges]
        for combo in itertools.product(*[spec for _, _, spec in ranges]):
            yield dict(zip(names, combo))
        return
    rng = random.Random(zlib.crc32(name.encode()))
    seen: set[tuple] = set()
    while True:
        for _ in range(50):  # prefer a set not tried yet, as a tuner would
            choice = {n: _sample(rng, kind, spec) for n, kind, spec in ranges}
            key = tuple(sorted(choice.items()))
            if key not in seen:
                break
        seen.add(key)
        yield choice


#: the metrics SageMaker's built-in k-means emits, as DescribeHyperParameterTuningJob lists them
#: for a built-in algorithm's training job definition (the regexes are the sandbox's own)
KMEANS_METRIC_DEFINITIONS = [
    {"Name": "test:msd", "Regex": r"#quality_metric: host=\S+, test msd <loss>=(\S+)"},
    {"Name": "test:ssd", "Regex": r"#quality_metric: host=\S+, test ssd <loss>=(\S+)"},
]


def _describe_defaults(record: dict, image: str) -> None:
    """The defaults DescribeHyperParameterTuningJob shows in the training job definition
    (ACK's late initialisation copies them into spec and waits until they are there)."""
    for definition in [record.get("TrainingJobDefinition")] + list(
            record.get("TrainingJobDefinitions") or []):
        if not isinstance(definition, dict):
            continue
        for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                     "EnableManagedSpotTraining"):
            definition.setdefault(flag, False)
        definition.setdefault("ResourceConfig", {}).setdefault("InstanceCount", 1)
        spec = definition.setdefault("AlgorithmSpecification", {})
        if parse_kmeans_image(image):
            spec.setdefault("MetricDefinitions", [dict(m) for m in KMEANS_METRIC_DEFINITIONS])


def create_tuning_job(app: Any, params: dict) -> dict:
    """CreateHyperParameterTuningJob."""
    name = params["HyperParameterTuningJobName"]
    if app.store.exists("HyperParameterTuningJob", name):
        claim(app, "HyperParameterTuningJob", name, {}, None)
    definition = params.get("TrainingJobDefinition")
    if definition is None and len(params.get("TrainingJobDefinitions") or []) == 1:
        definition = params["TrainingJobDefinitions"][0]
    if definition is None:
        raise validation("Give one TrainingJobDefinition; the sandbox tunes a single algorithm.")
    config = params["HyperParameterTuningJobConfig"]
    strategy = config.get("Strategy", "Bayesian")
    static = definition.get("StaticHyperParameters") or {}
    ranges = _ranges(definition.get("HyperParameterRanges") or config.get("ParameterRanges") or {},
                     static)
    limits = config.get("ResourceLimits") or {}
    if strategy == "Grid":
        if any(kind != "cat" for _, kind, _ in ranges):
            raise validation("The Grid strategy takes categorical parameter ranges only.")
    elif not limits.get("MaxNumberOfTrainingJobs"):
        raise validation("ResourceLimits.MaxNumberOfTrainingJobs is required for the "
                         f"{strategy} strategy.")
    if not limits.get("MaxParallelTrainingJobs"):
        raise validation("ResourceLimits.MaxParallelTrainingJobs is required.")
    objective = config.get("HyperParameterTuningJobObjective") or {}
    image = (definition.get("AlgorithmSpecification") or {}).get("TrainingImage", "")
    if not objective.get("MetricName"):
        raise validation("HyperParameterTuningJobObjective is required: the metric to optimise.")
    if parse_kmeans_image(image) and objective["MetricName"] not in KMEANS_OBJECTIVES:
        raise validation(f"The objective metric {objective['MetricName']} is not emitted by the "
                         f"k-means algorithm; use one of: {', '.join(KMEANS_OBJECTIVES)}.")
    app.ctx.check_role(definition["RoleArn"], app.scenario("role") == "AccessDenied")
    t = now()
    record = request_part(params)
    _describe_defaults(record, image)
    record.update({
        "HyperParameterTuningJobStatus": "InProgress", "CreationTime": t, "LastModifiedTime": t,
        "TrainingJobStatusCounters": {"Completed": 0, "InProgress": 0, "RetryableError": 0,
                                      "NonRetryableError": 0, "Stopped": 0},
        "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
    })
    arn = claim(app, "HyperParameterTuningJob", name, record, params.get("Tags"))
    app.spawn(tune, app, name, name=f"tuning:{name}")
    return {"HyperParameterTuningJobArn": arn}


def _children(app: Any, name: str) -> list[dict]:
    """The tuning job's training jobs."""
    return [r for r in app.store.all("TrainingJob") if r.get("_tuning") == name]


def _objective(child: dict, objective: dict) -> tuple[str, float | None]:
    """(ObjectiveStatus, objective value) of a training job."""
    value = next((m["Value"] for m in child.get("FinalMetricDataList") or []
                  if m.get("MetricName") == objective["MetricName"]), None)
    status = child.get("TrainingJobStatus")
    if status == "Completed":
        return ("Succeeded", value) if value is not None else ("Failed", None)
    if status in ("Failed", "Stopped"):
        return "Failed", None
    return "Pending", value


def _summarise(app: Any, name: str, objective: dict) -> tuple[dict, dict, dict | None, list]:
    """Counters, best job and children, with each child's objective fields updated."""
    jobs = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0,
            "Stopped": 0}
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    best, best_value = None, None
    children = _children(app, name)
    for child in children:
        status = child.get("TrainingJobStatus")
        jobs[{"Failed": "NonRetryableError", "Stopping": "InProgress"}.get(status, status)] += 1
        state, value = _objective(child, objective)
        objectives[state] += 1
        fields = {"ObjectiveStatus": state}
        if value is not None:
            fields["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": objective.get("Type", "Minimize"), "MetricName": objective["MetricName"],
                "Value": value}
        if any(child.get(key) != value for key, value in fields.items()):
            child.update(fields)  # written only on change: this runs every poll
            app.store.update("TrainingJob", child["_name"], **fields)
        if state == "Succeeded":
            better = best_value is None or (value > best_value if objective.get("Type") ==
                                            "Maximize" else value < best_value)
            if better:
                best, best_value = child, value
    return jobs, objectives, best, children


def tune(app: Any, name: str) -> None:
    """Launch and follow the training jobs of one tuning job (own thread)."""
    record = app.store.get("HyperParameterTuningJob", name)
    config = record["HyperParameterTuningJobConfig"]
    definition = record.get("TrainingJobDefinition") or record["TrainingJobDefinitions"][0]
    strategy = config.get("Strategy", "Bayesian")
    static = definition.get("StaticHyperParameters") or {}
    ranges = _ranges(definition.get("HyperParameterRanges") or config.get("ParameterRanges") or {},
                     static)
    objective = config["HyperParameterTuningJobObjective"]
    limits = config["ResourceLimits"]
    pool = candidates(name, strategy, ranges)
    total = limits.get("MaxNumberOfTrainingJobs") or 10 ** 6
    parallel = limits["MaxParallelTrainingJobs"]
    stop = app.stop_event("HyperParameterTuningJob", name)
    launched, reason, exhausted = 0, None, False
    last: dict[str, Any] = {}
    summary_shape = shapes.operation("DescribeHyperParameterTuningJob").output_shape.members[
        "BestTrainingJob"]
    while not app.closed.is_set():
        children = _children(app, name)
        running = [c for c in children if c.get("TrainingJobStatus") in ("InProgress", "Stopping")]
        if stop.is_set() or reason:
            for child in running:
                if child["TrainingJobStatus"] == "InProgress":
                    stop_job(app, "TrainingJob", child["_name"])
        else:
            while len(running) < parallel and launched < total and not exhausted:
                if app.scenario("training") == "ResourceLimitExceeded":
                    instance = (definition.get("ResourceConfig") or {}).get("InstanceType",
                                                                           "ml.m5.xlarge")
                    from .errors import limit_exceeded

                    reason = limit_exceeded(instance, "training job usage").message
                    break
                tuned = next(pool, None)
                if tuned is None:
                    exhausted = True
                    break
                launched += 1
                running.append(_launch(app, name, record, definition, tuned, launched, objective))
        jobs, objectives, best, children = _summarise(app, name, objective)
        fields: dict[str, Any] = {"TrainingJobStatusCounters": jobs,
                                  "ObjectiveStatusCounters": objectives}
        if best is not None:
            fields["BestTrainingJob"] = shapes.project(summary_shape, best)
        if fields != last:  # this loop polls; write (and touch LastModifiedTime) on change only
            last = fields
            app.store.update("HyperParameterTuningJob", name, LastModifiedTime=now(), **fields)
        idle = not any(c.get("TrainingJobStatus") in ("InProgress", "Stopping") for c in children)
        if idle and (stop.is_set() or reason or launched >= total or exhausted):
            break
        app.closed.wait(min(0.1, max(app.delay, 0.01)))
    if app.closed.is_set():
        return
    _conclude(app, name, stop.is_set(), reason, best, len(children))


def _conclude(app: Any, name: str, stopped: bool, reason: str | None, best: dict | None,
              count: int) -> None:
    """Put the tuning job in its final status."""
    if stopped:
        status, why = "Stopped", None
    elif reason:
        status, why = "Failed", reason
    elif best is None:
        status = "Failed"
        why = (f"No training job succeeded after {count} attempts. Please take a look at the "
               "training job failures to get more details.")
    else:
        status, why = "Completed", None
    app.store.mutate("HyperParameterTuningJob", name,
                     lambda r: finish_record("HyperParameterTuningJob", r, status, why))
    app.stops.pop(("HyperParameterTuningJob", name), None)


def _launch(app: Any, name: str, record: dict, definition: dict, tuned: dict, index: int,
            objective: dict) -> dict:
    """Create and start one training job of the tuning job; its record."""
    child = f"{name}-{index:03d}-{uuid.uuid4().hex[:8]}"
    params = {key: definition[key] for key in _COPIED if key in definition}
    params["TrainingJobName"] = child
    params["HyperParameters"] = {**(definition.get("StaticHyperParameters") or {}), **tuned,
                                 "_tuning_objective_metric": objective["MetricName"]}
    extra = {"TuningJobArn": record["HyperParameterTuningJobArn"], "TuningJobName": name,
             "_tuning": name, "TunedHyperParameters": tuned, "ObjectiveStatus": "Pending"}
    rec = training_record(params, extra)
    # SageMaker gives the tuning job's tags to every training job it launches, which is how
    # a tag-based cleanup finds them
    tags = app.store.tags(record["HyperParameterTuningJobArn"]) or None
    claim(app, "TrainingJob", child, rec, tags)
    app.spawn(drive, app, "TrainingJob", child, name=f"training:{child}")
    return app.store.get("TrainingJob", child)


def list_training_jobs_for_tuning(app: Any, params: dict) -> dict:
    """ListTrainingJobsForHyperParameterTuningJob."""
    name = params["HyperParameterTuningJobName"]
    require(app, "HyperParameterTuningJob", name)
    children = _children(app, name)
    for child in children:
        metric = child.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        child["FinalObjectiveMetricValue"] = metric.get("Value")
    return page("ListTrainingJobsForHyperParameterTuningJob", children, params,
                "TrainingJobName", "TrainingJobStatus")


def stop_tuning_job(app: Any, params: dict) -> dict:
    """StopHyperParameterTuningJob: Stopping, then Stopped once its training jobs stop."""
    name = params["HyperParameterTuningJobName"]
    record = require(app, "HyperParameterTuningJob", name)
    if record["HyperParameterTuningJobStatus"] != "InProgress":
        raise validation("The request was rejected because the tuning job is in status "
                         f"{record['HyperParameterTuningJobStatus']}.")
    app.store.update("HyperParameterTuningJob", name, HyperParameterTuningJobStatus="Stopping",
                     LastModifiedTime=now())
    app.stop_event("HyperParameterTuningJob", name).set()
    return {}


OPERATIONS = {
    "CreateHyperParameterTuningJob": create_tuning_job,
    "DescribeHyperParameterTuningJob": lambda app, p: describe(
        app, "HyperParameterTuningJob", p["HyperParameterTuningJobName"]),
    "ListHyperParameterTuningJobs": lambda app, p: list_kind(app, "HyperParameterTuningJob", p),
    "ListTrainingJobsForHyperParameterTuningJob": list_training_jobs_for_tuning,
    "StopHyperParameterTuningJob": stop_tuning_job,
}

__all__ = ["OPERATIONS", "KINDS"]
