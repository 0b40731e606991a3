"""The SageMaker resource kinds the sandbox's ACK knows, and how each one behaves.

Derivation works for any kind that has ``Create<Kind>`` and ``Describe<Kind>`` operations; the
controller needs a little more per kind (how to remove it, which status field says it is still
working), which is what :class:`KindInfo` records for the lab's kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "sagemaker.services.k8s.aws"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
#: the finalizer ACK controllers put on every resource they manage (the kind, as real ACK's
#: runtime names it: ``finalizers.<group>/<Kind>``)
FINALIZER = "finalizers.sagemaker.services.k8s.aws/{kind}"
#: the name earlier sandboxes used (the plural); still honoured so such resources can be deleted
OLD_FINALIZER = "finalizers.sagemaker.services.k8s.aws/{plural}"

#: the kinds the lab creates, in the order the pipeline creates them
LAB_KINDS: tuple[str, ...] = (
    "ProcessingJob",
    "HyperParameterTuningJob",
    "TrainingJob",
    "Model",
    "EndpointConfig",
    "Endpoint",
    "TransformJob",
)


@dataclass(frozen=True)
class KindInfo:
    """How the controller manages one kind.

    ``status_member`` is the Describe member that says where the resource is in its life;
    ``settled`` are its values after which nothing more happens on its own (ResourceSynced True).
    ``remove_op`` is the call made when the custom resource is deleted: a Stop for jobs (only
    while ``stoppable`` holds), a Delete for the rest.
    """

    kind: str
    name_member: str
    arn_member: str
    remove_op: str
    status_member: str | None = None
    settled: frozenset[str] = frozenset()
    stoppable: frozenset[str] = frozenset()
    printer_columns: tuple[tuple[str, str, int], ...] = ()

    @property
    def create_op(self) -> str:
        """The botocore operation that creates the resource."""
        return f"Create{self.kind}"

    @property
    def describe_op(self) -> str:
        """The botocore operation that reads the resource."""
        return f"Describe{self.kind}"

    @property
    def is_job(self) -> bool:
        """Jobs are stopped on delete, not deleted."""
        return self.remove_op.startswith("Stop")


_JOB_DONE = frozenset({"Completed", "Failed", "Stopped"})
_JOB_RUNNING = frozenset({"InProgress"})


def _job(kind: str, *, secondary: bool = False) -> KindInfo:
    """A job kind: stopped on delete while in progress, settled when it finishes either way."""
    status = f"{kind}Status"
    columns = [("FAILURE-REASON", ".status.failureReason", 1)]
    if secondary:
        columns.append(("SECONDARY-STATUS", ".status.secondaryStatus", 0))
    columns.append(("STATUS", f".status.{status[0].lower()}{status[1:]}", 0))
    return KindInfo(
        kind=kind,
        name_member=f"{kind}Name",
        arn_member=f"{kind}Arn",
        remove_op=f"Stop{kind}",
        status_member=status,
        settled=_JOB_DONE,
        stoppable=_JOB_RUNNING,
        printer_columns=tuple(columns),
    )


KINDS: dict[str, KindInfo] = {
    "ProcessingJob": _job("ProcessingJob"),
    "HyperParameterTuningJob": _job("HyperParameterTuningJob"),
    "TrainingJob": _job("TrainingJob", secondary=True),
    "TransformJob": _job("TransformJob"),
    "Model": KindInfo("Model", "ModelName", "ModelArn", "DeleteModel"),
    "EndpointConfig": KindInfo(
        "EndpointConfig", "EndpointConfigName", "EndpointConfigArn", "DeleteEndpointConfig"
    ),
    "Endpoint": KindInfo(
        "Endpoint",
        "EndpointName",
        "EndpointArn",
        "DeleteEndpoint",
        status_member="EndpointStatus",
        # OutOfService and Failed do not change on their own; InService is the goal
        settled=frozenset({"InService", "Failed", "OutOfService", "UpdateRollbackFailed"}),
        printer_columns=(
            ("FAILURE-REASON", ".status.failureReason", 1),
            ("STATUS", ".status.endpointStatus", 0),
        ),
    ),
}


def info(kind: str) -> KindInfo:
    """The :class:`KindInfo` for ``kind``; a ValueError names the kinds the controller manages."""
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(
            f"the sandbox ACK controller does not manage {kind!r}; it manages: {', '.join(KINDS)}"
        ) from None
