"""One reconcile pass for one custom resource, with ACK's semantics.

:meth:`Reconciler.reconcile` reads the resource, makes SageMaker match it (create, adopt,
update an endpoint, stop or delete on removal), writes what SageMaker reports into the status
subresource and says when to look again. Errors never escape: an AWS error becomes an
``ACK.Terminal`` or ``ACK.Recoverable`` condition, and the caller retries recoverable ones.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

from wizard.sandbox.ack import conditions as cond
from wizard.sandbox.ack import facts, update
from wizard.sandbox.ack.convert import SpecError, response_to_status, spec_to_request, to_api
from wizard.sandbox.ack.model import operation
from wizard.sandbox.ack.names import ack_field_name, kind_plural
from wizard.sandbox.ack.resources import (FINALIZER, GROUP, OLD_FINALIZER, VERSION, KindInfo,
                                          info)

log = logging.getLogger("wizard.sandbox.ack")

#: ACK's annotation that keeps the AWS resource when the custom resource is deleted
DELETION_POLICY = "services.k8s.aws/deletion-policy"
CONTROLLER_VERSION_TAG = "services.k8s.aws/controller-version"
NAMESPACE_TAG = "services.k8s.aws/namespace"
CONTROLLER_VERSION = "sagemaker-labwiz-sandbox"
#: kinds whose v1.9.1 ReadOne sets no ResourceSynced of its own (no customSetOutput hook)
_NO_SYNCED_HOOK = frozenset({"Model", "EndpointConfig"})


@dataclass
class Outcome:
    """What a pass decided: look again after ``requeue`` seconds (None: wait for a change), and
    whether the delay should grow with repeated failures (``backoff``)."""

    requeue: float | None = None
    backoff: bool = False


class Reconciler:
    """Reconciles resources of the lab's kinds; shared by the controller's worker threads."""

    def __init__(self, custom_api: Any, sagemaker: Any, region: str, account_id: str,
                 poll_seconds: float):
        """Keep the clients and the account facts every pass needs.

        ``sagemaker`` is a boto3 client for ``region`` (the controller's default region), or a
        callable returning the client for a region name: a resource annotated with
        ``services.k8s.aws/region`` is reconciled in that region, as real ACK does.
        """
        self.api = custom_api
        self._clients = sagemaker if callable(sagemaker) and not hasattr(
            sagemaker, "describe_model") else (lambda _region, _c=sagemaker: _c)
        self.region = region
        self.account_id = account_id
        self.poll = poll_seconds
        # (kind, namespace, name) -> generation that ended in ACK.Terminal; no retry until the
        # spec (and so the generation) changes
        self._terminal_at: dict[tuple[str, str, str], int] = {}

    # -- Kubernetes helpers -------------------------------------------------------------

    def _get(self, kind: str, namespace: str, name: str) -> dict | None:
        """The custom resource, or None when it no longer exists."""
        from kubernetes.client.exceptions import ApiException

        try:
            return self.api.get_namespaced_custom_object(
                GROUP, VERSION, namespace, kind_plural(kind), name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _set_finalizers(self, kind: str, obj: dict, finalizers: list[str]) -> dict:
        """Replace the resource's finalizers (merge patch, guarded by resourceVersion)."""
        meta = obj["metadata"]
        body = {"metadata": {"finalizers": finalizers,
                             "resourceVersion": meta.get("resourceVersion")}}
        return self.api.patch_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], kind_plural(kind), meta["name"], body
        )

    def _write_status(self, kind: str, obj: dict, status: dict) -> None:
        """Write ``status`` through the status subresource if it differs from what is stored."""
        if cond.comparable(obj.get("status") or {}) == cond.comparable(status):
            return
        body = copy.deepcopy(obj)
        body["status"] = status
        meta = obj["metadata"]
        self.api.replace_namespaced_custom_object_status(
            GROUP, VERSION, meta["namespace"], kind_plural(kind), meta["name"], body
        )

    # -- regions ------------------------------------------------------------------------

    def region_of(self, obj: dict) -> str:
        """The region a resource lives in, in real ACK's order: the region already recorded in
        ``status.ackResourceMetadata``, else the resource's ``services.k8s.aws/region``
        annotation, else the controller's own region. (Real ACK also reads a namespace's
        ``services.k8s.aws/default-region`` annotation; the sandbox does not.)"""
        recorded = ((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("region")
        if recorded:
            return recorded
        wanted = ((obj.get("metadata") or {}).get("annotations") or {}).get(
            facts.REGION_ANNOTATION)
        return wanted or self.region

    def _drifted(self, obj: dict) -> str | None:
        """Real ACK's refusal when the annotation names another region than the one the
        resource already lives in (None when it does not)."""
        recorded = ((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("region")
        wanted = ((obj.get("metadata") or {}).get("annotations") or {}).get(
            facts.REGION_ANNOTATION)
        if recorded and wanted and wanted != recorded:
            return (f"Resource already exists in region {recorded}, but the desired state "
                    f"specifies region {wanted}. ")
        return None

    # -- the pass -----------------------------------------------------------------------

    def reconcile(self, kind: str, namespace: str, name: str) -> Outcome:
        """One pass over one resource; returns when to look again. Never raises for AWS errors;
        Kubernetes errors (conflicts, an unreachable server) are raised for the caller to retry."""
        obj = self._get(kind, namespace, name)
        if obj is None:
            self._terminal_at.pop((kind, namespace, name), None)
            return Outcome()
        kinfo = info(kind)
        finalizer = FINALIZER.format(kind=kind)
        old_finalizer = OLD_FINALIZER.format(plural=kind_plural(kind))
        finalizers = list(obj["metadata"].get("finalizers") or [])
        if old_finalizer in finalizers:
            # made by an earlier sandbox: treat the old name as ours and move to the new one
            # (on delete, both go when the AWS resource is gone)
            finalizers = [f for f in finalizers if f not in (old_finalizer, finalizer)]
            if not obj["metadata"].get("deletionTimestamp"):
                obj = self._set_finalizers(kind, obj, finalizers + [finalizer])
            finalizers.append(finalizer)
        drift = self._drifted(obj)
        if drift:
            # real ACK returns this before touching the resource: logged, retried with
            # backoff, no condition written
            log.warning("%s %s/%s: %s", kind, namespace, name, drift)
            return Outcome(requeue=self.poll, backoff=True)
        region = self.region_of(obj)
        sm = self._clients(region)
        if obj["metadata"].get("deletionTimestamp"):
            if finalizer not in finalizers:
                return Outcome()
            return self._delete(kinfo, obj, finalizer, finalizers, sm)
        if finalizer not in finalizers:
            obj = self._set_finalizers(kind, obj, finalizers + [finalizer])
        key = (kind, namespace, name)
        generation = int(obj["metadata"].get("generation") or 0)
        if self._terminal_at.get(key) == generation and cond.get_condition(obj, cond.TERMINAL):
            return Outcome()
        self._terminal_at.pop(key, None)
        status = copy.deepcopy(obj.get("status") or {})
        # every pass derives the conditions afresh, as ACK's runtime does (it clears them and
        # sets what this pass found); unchanged ones keep their transition time below
        previous = status.pop("conditions", None) or []
        try:
            outcome = self._sync(kinfo, obj, status, sm, region)
        except SpecError as exc:
            outcome = self._terminal(key, generation, status, str(exc))
        except update.UpdateRefused as exc:
            # the read succeeded, so ResourceSynced is what the kind's read hook set (the
            # job's state), or, for kinds without one, False as the runtime sets it
            outcome = self._terminal(key, generation, status, str(exc),
                                     keep_synced=cond.get_condition(status, cond.SYNCED)
                                     is not None and kind not in _NO_SYNCED_HOOK)
        except update.Requeue as exc:
            log.info("%s %s/%s: %s", kind, namespace, name, exc)
            outcome = Outcome(requeue=self.poll)
        except Exception as exc:  # an AWS error or a broken connection: sort it, never crash
            # the generated updateConditions fills ackResourceMetadata's defaults (owner
            # account, region; no ARN) whenever it records an error
            meta = status.setdefault("ackResourceMetadata", {})
            meta.setdefault("ownerAccountID", self.account_id)
            meta.setdefault("region", region)
            if cond.is_terminal(kind, exc):
                outcome = self._terminal(key, generation, status, cond.message_of(exc))
            else:
                text = cond.message_of(exc)
                log.warning("%s %s/%s: recoverable error: %s", kind, namespace, name, text)
                cond.drop_condition(status, cond.SYNCED)
                cond.set_condition(status, cond.RECOVERABLE, True, text)
                cond.set_condition(status, cond.SYNCED, None, facts.UNKNOWN_SYNCED_MESSAGE)
                outcome = Outcome(requeue=self.poll, backoff=True)
        cond.set_ready(status)
        cond.keep_transition_times(status, previous)
        self._write_status(kind, obj, status)
        return outcome

    def _terminal(self, key: tuple[str, str, str], generation: int, status: dict,
                  message: str, keep_synced: bool = False) -> Outcome:
        """Record an error retrying cannot fix, and stop until the spec changes.

        ``keep_synced`` keeps the ResourceSynced this pass already set (a job's read hook sets
        it from the job's state before the runtime tries the update, and the runtime only
        fills it in when nothing set it)."""
        log.warning("%s %s/%s: terminal: %s", *key, message)
        self._terminal_at[key] = generation
        cond.set_condition(status, cond.TERMINAL, True, message)
        if not keep_synced:
            cond.drop_condition(status, cond.SYNCED)
            cond.set_condition(status, cond.SYNCED, False, facts.NOT_SYNCED_MESSAGE)
        return Outcome()

    def _aws_name(self, kinfo: KindInfo, obj: dict) -> str:
        """The SageMaker name of the resource: the spec's name field (SpecError if missing)."""
        field = ack_field_name(kinfo.name_member)
        value = (obj.get("spec") or {}).get(field)
        if not isinstance(value, str) or not value:
            raise SpecError(f"spec.{field}: Required value; set the SageMaker {kinfo.kind} name")
        return value

    def _describe(self, kinfo: KindInfo, aws_name: str, sm: Any) -> dict | None:
        """Describe<Kind>, or None when SageMaker has no such resource (ACK's per-kind rule)."""
        try:
            return getattr(sm, _snake(kinfo.describe_op))(**{kinfo.name_member: aws_name})
        except Exception as exc:
            if cond.is_not_found(kinfo.kind, exc):
                return None
            raise

    def _sync(self, kinfo: KindInfo, obj: dict, status: dict, sm: Any, region: str) -> Outcome:
        """Create or adopt the SageMaker resource, refresh status, and decide the requeue."""
        spec = obj.get("spec") or {}
        aws_name = self._aws_name(kinfo, obj)
        described = self._describe(kinfo, aws_name, sm)
        if described is None:
            request = spec_to_request(kinfo.kind, spec)
            self._add_default_tags(kinfo, request, obj["metadata"]["namespace"])
            created = getattr(sm, _snake(kinfo.create_op))(**request)
            log.info("%s %s/%s: created %s in %s", kinfo.kind, obj["metadata"]["namespace"],
                     obj["metadata"]["name"], created.get(kinfo.arn_member), region)
            self._set_metadata(status, created.get(kinfo.arn_member), region)
            described = self._describe(kinfo, aws_name, sm)
            if described is None:
                cond.set_condition(status, cond.SYNCED, False, "created; waiting for SageMaker "
                                   "to report it")
                return Outcome(requeue=self.poll)
        self._set_metadata(status, described.get(kinfo.arn_member), region)
        status.update(response_to_status(kinfo.kind, described, set(spec)))
        if kinfo.kind == "Endpoint" and self._maybe_update_endpoint(spec, described, status, sm):
            return Outcome(requeue=self.poll)
        state = described.get(kinfo.status_member) if kinfo.status_member else None
        if kinfo.status_member is None or state in kinfo.settled:
            cond.set_condition(status, cond.SYNCED, True, _synced_message(kinfo, state))
            outcome = Outcome()
        else:
            cond.set_condition(status, cond.SYNCED, False, f"{kinfo.kind} is in {state} status.")
            outcome = Outcome(requeue=self.poll)
        if kinfo.kind != "Endpoint":
            self._maybe_update(kinfo, spec, described, sm)
        return outcome

    def _maybe_update(self, kinfo: KindInfo, spec: dict, described: dict, sm: Any) -> None:
        """Apply a spec change the way v1.9.1 does (see :mod:`.update`): UpdateRefused for a
        change the kind cannot make, Requeue for one it must wait for, else the update call."""
        changed = update.changed_members(kinfo.kind, spec, described)
        if not changed:
            return
        log.info("%s %s: spec differs from SageMaker in %s", kinfo.kind,
                 described.get(kinfo.name_member), ", ".join(sorted(changed)))
        if kinfo.kind in update.NO_UPDATE:
            raise update.UpdateRefused(update.NOT_IMPLEMENTED)
        if kinfo.kind == "TrainingJob":
            sm.update_training_job(**update.training_update(spec, described, changed))
            return
        raise update.UpdateRefused(update.NOT_IMPLEMENTED)

    def _set_metadata(self, status: dict, arn: str | None, region: str) -> None:
        """Fill ``status.ackResourceMetadata`` (ARN once known, account, region)."""
        meta = status.setdefault("ackResourceMetadata", {})
        if arn:
            meta["arn"] = arn
        meta["ownerAccountID"] = self.account_id
        meta["region"] = region

    def _add_default_tags(self, kinfo: KindInfo, request: dict, namespace: str) -> None:
        """Add ACK's default tags (controller version, namespace) unless the user set them."""
        if "Tags" not in operation(kinfo.create_op).input_shape.members:
            return
        tags = request.setdefault("Tags", [])
        present = {t.get("Key") for t in tags}
        defaults = ((CONTROLLER_VERSION_TAG, CONTROLLER_VERSION), (NAMESPACE_TAG, namespace))
        for key, value in defaults:
            if key not in present:
                tags.append({"Key": key, "Value": value})

    def _maybe_update_endpoint(self, spec: dict, described: dict, status: dict, sm: Any) -> bool:
        """Call UpdateEndpoint when the spec names another endpoint config; True if it did."""
        wanted = spec.get("endpointConfigName")
        current = described.get("EndpointConfigName")
        if not wanted or wanted == current:
            return False
        state = described.get("EndpointStatus")
        if state not in ("InService", "Failed", "OutOfService"):
            cond.set_condition(status, cond.SYNCED, False, f"Endpoint is in {state} status; the "
                               "new endpoint config is applied once it settles.")
            return True
        shape = operation("UpdateEndpoint").input_shape
        request = {"EndpointName": described["EndpointName"], "EndpointConfigName": wanted}
        if spec.get("deploymentConfig") and "DeploymentConfig" in shape.members:
            request["DeploymentConfig"] = to_api(shape.members["DeploymentConfig"],
                                                 spec["deploymentConfig"], "spec.deploymentConfig")
        sm.update_endpoint(**request)
        log.info("Endpoint %s: updating to endpoint config %s", described["EndpointName"], wanted)
        # as v1.9.1's customUpdateEndpointSetOutput does: the status says Updating at once, not
        # the InService read before the call (a component that waits for InService would
        # otherwise take the old state for the update's outcome)
        status["endpointStatus"] = "Updating"
        cond.set_condition(status, cond.SYNCED, False, "Endpoint is in Updating status.")
        return True

    def _delete(self, kinfo: KindInfo, obj: dict, finalizer: str, finalizers: list[str],
                sm: Any) -> Outcome:
        """Stop (jobs) or delete (the rest) the SageMaker resource, then drop the finalizer."""
        meta = obj["metadata"]
        status = copy.deepcopy(obj.get("status") or {})
        retain = (meta.get("annotations") or {}).get(DELETION_POLICY, "").lower() == "retain"
        try:
            done = retain or self._remove_from_aws(kinfo, obj, sm)
        except SpecError:
            done = True  # it never had a valid name, so SageMaker never had it
        except Exception as exc:
            text = cond.message_of(exc)
            log.warning("%s %s/%s: delete failed: %s", kinfo.kind, meta["namespace"],
                        meta["name"], text)
            cond.set_condition(status, cond.RECOVERABLE, True, text)
            self._write_status(kinfo.kind, obj, status)
            return Outcome(requeue=self.poll, backoff=True)
        if not done:
            return Outcome(requeue=self.poll)
        self._set_finalizers(kinfo.kind, obj, [f for f in finalizers if f != finalizer])
        log.info("%s %s/%s: deleted", kinfo.kind, meta["namespace"], meta["name"])
        return Outcome()

    def _remove_from_aws(self, kinfo: KindInfo, obj: dict, sm: Any) -> bool:
        """One step of removal; True once SageMaker holds nothing that still needs stopping."""
        aws_name = self._aws_name(kinfo, obj)
        described = self._describe(kinfo, aws_name, sm)
        if described is None:
            return True
        state = described.get(kinfo.status_member) if kinfo.status_member else None
        if kinfo.is_job:
            if state in kinfo.stoppable:
                getattr(sm, _snake(kinfo.remove_op))(**{kinfo.name_member: aws_name})
                log.info("%s %s: stop requested", kinfo.kind, aws_name)
                return False
            return state in kinfo.settled  # Stopping: wait until it has stopped
        if state == "Deleting":
            return False
        getattr(sm, _snake(kinfo.remove_op))(**{kinfo.name_member: aws_name})
        # an endpoint goes through Deleting; the others are gone at once
        return kinfo.status_member is None


def _synced_message(kinfo: KindInfo, state: str | None) -> str:
    """The ResourceSynced message once nothing more is changing."""
    if state is None:
        return "Resource synced successfully"
    return f"{kinfo.kind} is in {state} status."


def _snake(op_name: str) -> str:
    """boto3's method name for an operation (``CreateTrainingJob`` -> ``create_training_job``)."""
    from botocore import xform_name

    return xform_name(op_name)
