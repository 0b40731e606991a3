"""From a CrdInfo to the component's shape: inputs, outputs and how to wait.

The input table is explicit (snake_case input name -> exact CRD key), so the
round trip is lossless by construction: `executionRoleARN` becomes
`execution_role_arn` and maps back to `executionRoleARN`, never to a guess
such as `executionRoleArn`.
"""
from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass
from typing import Any

from wizard.generator.crds import CrdInfo

#: Inputs every component has besides the CRD's spec fields (name -> (annotation, default, help)).
RUNTIME_INPUTS: dict[str, tuple[str, str, str]] = {
    "namespace": ("Optional[str]", "None",
                  "Namespace for the resource; default: the pod's own namespace, else the kubeconfig context's."),
    "resource_name": ("Optional[str]", "None",
                      "metadata.name of the resource; default: derived from the SageMaker name field, "
                      "so a retried task adopts its own resource."),
    "region": ("str", "''",
               "AWS region ACK creates the SageMaker resource in (annotation services.k8s.aws/region); "
               "empty: the ACK controller's default region."),
    "timeout_seconds": ("int", "86400", "How long to wait for the resource before failing the task."),
    "recoverable_timeout_seconds": ("int", "600",
                                    "How long an ACK.Recoverable error (ACK is retrying: a quota, a missing "
                                    "dependency, a permission) may last before the task fails with its message."),
    "controller_timeout_seconds": ("int", "300",
                                   "How long to wait for any controller to report on the resource before "
                                   "failing (is the ACK SageMaker controller installed? kubectl get deploy "
                                   "-n ack-system)."),
    "poll_interval_seconds": ("int", "30", "Seconds between status checks."),
    "delete_on_termination": ("bool", "True",
                              "Delete the resource if the task is terminated (run cancelled) or times out; "
                              "False keeps it (and what SageMaker made) for you to inspect."),
    "lineage": ("str", "''",
                "labwiz's lab lineage: labels the resource labwiz.dev/lineage and tags the SageMaker "
                "resource labwiz:lineage, so cleanup finds it; empty: no label, no tag."),
    "run_id": ("str", "''",
               "The pipeline run's id, added as label labwiz.dev/kfp-run-id and tag labwiz:kfp-run-id "
               "when given (pass dsl.PIPELINE_JOB_ID_PLACEHOLDER)."),
}
FIXED_OUTPUTS = ("ack_resource_arn", "resource_name")
#: kinds the ACK SageMaker controller updates in place when their spec changes (an Endpoint
#: moves to a new EndpointConfig through UpdateEndpoint); others are created once
UPDATABLE_KINDS = frozenset({"Endpoint"})
PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool",
            "object": "dict", "array": "list"}

#: Completion per kind, from SageMaker's status enums as ACK copies them into status.
KNOWN_WAITS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "TrainingJob": ("trainingJobStatus", ("Completed",), ("Failed", "Stopped")),
    "ProcessingJob": ("processingJobStatus", ("Completed",), ("Failed", "Stopped")),
    "TransformJob": ("transformJobStatus", ("Completed",), ("Failed", "Stopped")),
    "HyperParameterTuningJob": ("hyperParameterTuningJobStatus", ("Completed",), ("Failed", "Stopped")),
    "LabelingJob": ("labelingJobStatus", ("Completed",), ("Failed", "Stopped")),
    "Endpoint": ("endpointStatus", ("InService",), ("Failed", "OutOfService")),
    "InferenceComponent": ("inferenceComponentStatus", ("InService",), ("Failed",)),
    "NotebookInstance": ("notebookInstanceStatus", ("InService",), ("Failed",)),
    "FeatureGroup": ("featureGroupStatus", ("Created",), ("CreateFailed",)),
    "ModelPackage": ("modelPackageStatus", ("Completed",), ("Failed",)),
    "ModelPackageGroup": ("modelPackageGroupStatus", ("Completed",), ("Failed", "DeleteFailed")),
    "MonitoringSchedule": ("monitoringScheduleStatus", ("Scheduled",), ("Failed",)),
    "PipelineExecution": ("pipelineExecutionStatus", ("Succeeded",), ("Failed", "Stopped")),
    "Pipeline": ("pipelineStatus", ("Active",), ()),
    "Project": ("projectStatus", ("CreateCompleted",), ("CreateFailed",)),
    "App": ("status", ("InService",), ("Failed",)),
    "Domain": ("status", ("InService",), ("Failed",)),
    "Space": ("status", ("InService",), ("Failed",)),
    "UserProfile": ("status", ("InService",), ("Failed",)),
}
#: For a kind this table does not know but whose status has a `<kind>Status` field (a newer release).
GENERIC_SUCCESS = ("Completed", "InService", "Created", "Succeeded", "Scheduled", "Active", "CreateCompleted")
GENERIC_FAILURE = ("Failed", "Stopped", "CreateFailed")


def snake_case(key: str) -> str:
    """camelCase or PascalCase (with acronyms) to snake_case: `kmsKeyID` -> `kms_key_id`."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", key)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"[^0-9a-zA-Z_]+", "_", s).strip("_").lower()
    return s if s and not s[0].isdigit() else f"f_{s}"


def _unique(name: str, taken: set[str], suffix: str) -> str:
    """Make `name` a usable, unused Python parameter name."""
    if keyword.iskeyword(name) or name in dir(builtins) or name in taken:
        name = f"{name}_{suffix}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def first_sentence(text: str | None, limit: int = 200) -> str:
    """The first sentence of a schema description, on one line."""
    line = " ".join((text or "").split())
    first = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0] if line else ""
    return first if len(first) <= limit else first[: limit - 3].rstrip() + "..."


@dataclass(frozen=True)
class InputField:
    """One component input that maps to a top-level spec field."""

    name: str
    key: str
    schema_type: str
    required: bool
    description: str

    @property
    def annotation(self) -> str:
        """The Python annotation KFP turns into the input's type."""
        py = PY_TYPES.get(self.schema_type, "dict")
        return py if self.required else f"Optional[{py}]"


@dataclass(frozen=True)
class OutputField:
    """One component output holding a status field as JSON."""

    name: str
    key: str
    description: str


@dataclass(frozen=True)
class ComponentModel:
    """Everything the templates need about one kind."""

    crd: CrdInfo
    function_name: str
    inputs: tuple[InputField, ...]
    outputs: tuple[OutputField, ...]
    wait: dict[str, Any]
    name_key: str | None

    def runtime_table(self) -> dict[str, Any]:
        """The constants the embedded runtime receives (JSON-able)."""
        return {
            "kind": self.crd.kind, "group": self.crd.group, "version": self.crd.version,
            "plural": self.crd.plural, "name_key": self.name_key,
            "fields": {f.name: {"key": f.key, "type": f.schema_type, "required": f.required}
                       for f in self.inputs},
            "wait": self.wait,
            "outputs": {o.name: o.key for o in self.outputs},
            "tags_key": self.tags_key,
            "updatable": self.crd.kind in UPDATABLE_KINDS,
        }

    @property
    def tags_key(self) -> str | None:
        """The spec field holding SageMaker tags as [{key, value}], if the kind has one.

        The runtime adds the lineage tags there; a kind without it (PipelineExecution) gets
        only the labels, since SageMaker has nowhere to keep a tag for it.
        """
        prop = self.crd.spec_fields.get("tags") or {}
        items = prop.get("items") or {}
        if prop.get("type") == "array" and {"key", "value"} <= set(items.get("properties") or {}):
            return "tags"
        return None


def _schema_type(prop: dict[str, Any]) -> str:
    """The JSON-schema type of a property; untyped or int-or-string ones are treated as said below."""
    if prop.get("x-kubernetes-int-or-string"):
        return "string"  # the API server accepts either; a string input keeps both expressible
    return prop.get("type") or "object"  # preserve-unknown-fields blobs are objects


def wait_plan(crd: CrdInfo) -> dict[str, Any]:
    """How the runtime decides the resource is finished (see runtime.evaluate)."""
    status = crd.status_fields
    known = KNOWN_WAITS.get(crd.kind)
    if known and known[0] in status:
        field, ok, bad = known
    else:
        guess = crd.kind[0].lower() + crd.kind[1:] + "Status"
        if guess not in status or (status[guess].get("type") not in (None, "string")):
            return {"status_field": None, "success": [], "failure": [], "reason_field": None}
        field, ok, bad = guess, GENERIC_SUCCESS, GENERIC_FAILURE
    reason = "failureReason" if "failureReason" in status else None
    return {"status_field": field, "success": list(ok), "failure": list(bad), "reason_field": reason}


def _name_key(crd: CrdInfo) -> str | None:
    """The spec field holding the SageMaker name (e.g. trainingJobName), if any."""
    guess = crd.kind[0].lower() + crd.kind[1:] + "Name"
    if guess in crd.spec_fields:
        return guess
    names = [k for k in crd.required if k.endswith("Name")]
    return names[0] if len(names) == 1 else None


def build_model(crd: CrdInfo) -> ComponentModel:
    """Name every input and output, and choose the wait plan."""
    taken = set(RUNTIME_INPUTS) | {"kfp", "dsl"}
    required = set(crd.required)
    fields = []
    # required first, each group in CRD key order, since Python wants defaults last
    for key, prop in sorted(crd.spec_fields.items(), key=lambda kv: (kv[0] not in required, kv[0])):
        fields.append(InputField(name=_unique(snake_case(key), taken, "value"), key=key,
                                 schema_type=_schema_type(prop), required=key in required,
                                 description=first_sentence(prop.get("description")) or key))
    out_taken = set(FIXED_OUTPUTS)
    outputs = tuple(OutputField(name=_unique(snake_case(key), out_taken, "status"), key=key,
                                description=first_sentence(prop.get("description")) or key)
                    for key, prop in sorted(crd.status_fields.items()))
    return ComponentModel(crd=crd, function_name="sagemaker_" + snake_case(crd.kind),
                          inputs=tuple(fields), outputs=outputs, wait=wait_plan(crd), name_key=_name_key(crd))
