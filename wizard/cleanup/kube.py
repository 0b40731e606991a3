"""Removing the lab's Kubernetes objects: ACK custom resources, the secret, the service account's
annotation, the Role and RoleBinding.

Deleting an ACK custom resource makes the controller delete (or stop) its SageMaker resource and
then drop its finalizer, so waiting until the object is gone waits for SageMaker too. An object
labelled with another lab's lineage is kept: the ledger and the label must agree.
"""

from __future__ import annotations

from wizard import k8s
from wizard.cleanup.common import GONE, REMOVED, Keep, poll_every, wait_until
from wizard.cleanup.plan import ACK_GROUP, ACK_VERSION
from wizard.ledger import LABEL_KEY
from wizard.protocol import cmd


def _split(item) -> tuple[str, str]:
    """(namespace, name) of a namespaced item named ``ns/name`` or carrying its namespace."""
    if item.namespace and "/" not in item.name:
        return item.namespace, item.name
    namespace, _, name = item.name.partition("/")
    return item.namespace or namespace, name.split("/")[0] if item.kind == "k8s-annotation" else name


def _read(read):
    """The object, or None on 404."""
    try:
        return read()
    except k8s.api_exception() as exc:
        if exc.status == 404:
            return None
        raise k8s.explain(exc, "reading an object to remove") from None


def _check_label(ctx, obj) -> None:
    """Refuse (keep) an object labelled with another lab's lineage."""
    labels = (obj.metadata.labels if hasattr(obj, "metadata") else obj["metadata"].get("labels")) or {}
    if labels.get(LABEL_KEY) not in (None, ctx.ledger.lineage):
        raise Keep(f"labelled with another lab's lineage ({labels[LABEL_KEY]})")


# -- custom resources ---------------------------------------------------------------------------
def _cr_get(ctx, item):
    """The custom resource, or None when it is gone."""
    api = ctx.clients.custom_objects()
    return _read(lambda: api.get_namespaced_custom_object(
        ACK_GROUP, ACK_VERSION, item.namespace, item.details["plural"], item.details["cr_name"]))


def cr_exists(ctx, item) -> bool:
    """Whether the custom resource still exists."""
    return _cr_get(ctx, item) is not None


def cr_begin(ctx, item) -> str | None:
    """Ask for the custom resource's deletion without waiting: GONE when it is not there,
    None when it is being deleted now (another lab's is kept: Keep)."""
    obj = _cr_get(ctx, item)
    if obj is None:
        return GONE
    _check_label(ctx, obj)
    api = ctx.clients.custom_objects()
    try:
        api.delete_namespaced_custom_object(ACK_GROUP, ACK_VERSION, item.namespace,
                                            item.details["plural"], item.details["cr_name"])
    except k8s.api_exception() as exc:
        if exc.status != 404:
            raise k8s.explain(exc, f"deleting {item.name}") from None
    return None


def cr_wait(ctx, item) -> str:
    """Wait until the controller lets the custom resource go (its finalizer: SageMaker's side
    is deleted first); REMOVED, or Keep when it stays."""
    if not wait_until(lambda: not cr_exists(ctx, item), every=poll_every(ctx)):
        raise Keep("the ACK controller has not finished deleting it; check its status "
                   f"with kubectl describe {item.details['plural']}.{ACK_GROUP} -n {item.namespace}")
    return REMOVED


def cr_remove(ctx, item) -> str:
    """Delete the custom resource and wait until the controller lets it go."""
    return cr_begin(ctx, item) or cr_wait(ctx, item)


def cr_command(item):
    """kubectl delete for the custom resource."""
    return cmd("kubectl", "delete", f"{item.details['plural']}.{ACK_GROUP}",
               item.details["cr_name"], "-n", item.namespace or "<namespace>")


# -- secret, role, rolebinding --------------------------------------------------------------------
def _simple(ctx, item):
    """(read, delete) callables for a secret, role or rolebinding."""
    namespace, name = _split(item)
    if item.kind == "k8s-secret":
        api = ctx.clients.core_v1()
        return (lambda: api.read_namespaced_secret(name, namespace),
                lambda: api.delete_namespaced_secret(name, namespace))
    api = ctx.clients.rbac_v1()
    if item.kind == "k8s-role":
        return (lambda: api.read_namespaced_role(name, namespace),
                lambda: api.delete_namespaced_role(name, namespace))
    return (lambda: api.read_namespaced_role_binding(name, namespace),
            lambda: api.delete_namespaced_role_binding(name, namespace))


def simple_exists(ctx, item) -> bool:
    """Whether the secret, role or rolebinding still exists."""
    read, _delete = _simple(ctx, item)
    return _read(read) is not None


def simple_remove(ctx, item) -> str:
    """Delete the secret, role or rolebinding (when not another lab's); put back a secret the
    lab replaced; keep a backup until what it backs up is restored."""
    read, delete = _simple(ctx, item)
    obj = _read(read)
    if item.details.get("existed_before"):
        if item.details.get("backup"):
            return restore_secret(ctx, item)
        if obj is None:
            return GONE
        raise Keep("it existed before the lab (the wizard replaced its keys after you agreed; "
                   "the lab's key in it is deleted with the lab's IAM user)")
    if obj is None:
        return GONE
    original = item.details.get("backup_of")
    if original and ctx.ledger.find("k8s-secret", original):
        raise Keep(f"it holds the original of {original}, which is not restored yet")
    _check_label(ctx, obj)
    return GONE if _read(delete) is None else REMOVED


#: where the learner's own secret's labels, annotations and type are kept on its backup
ORIGINAL_META = "labwiz.dev/original-metadata"


def backup_secret(ctx, reporter, namespace: str, name: str, step: str) -> str:
    """Copy the learner's secret ``name`` to ``<name>-labwiz-backup`` in the same namespace
    (its keys never leave the cluster), under an intent; return the backup's ``ns/name``.

    A backup that already exists (labelled with this lab) is kept as it is: it was made before
    the original was replaced, and the original may now hold the lab's key."""
    import json

    from kubernetes import client

    from wizard.protocol import Resource

    core = ctx.clients.core_v1()
    backup = f"{name}-labwiz-backup"
    ref = f"{namespace}/{backup}"
    existing = _read(lambda: core.read_namespaced_secret(backup, namespace))
    if existing is not None:
        _check_label(ctx, existing)
        if not ctx.ledger.find("k8s-secret", ref):
            ctx.ledger.record(Resource(kind="k8s-secret", name=ref, namespace=namespace, step=step,
                                       details={"backup_of": f"{namespace}/{name}"}))
        return ref
    original = core.read_namespaced_secret(name, namespace)
    meta = {"labels": original.metadata.labels, "annotations": original.metadata.annotations,
            "type": original.type}
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=backup, namespace=namespace,
                                     labels={LABEL_KEY: ctx.ledger.lineage},
                                     annotations={ORIGINAL_META: json.dumps(meta, sort_keys=True)}),
        type=original.type, data=original.data)
    reporter.command(cmd("kubectl", "get", "secret", name, "-n", namespace, "-o", "yaml",
                         note=f"kept as {backup} until cleanup puts it back"))
    with ctx.ledger.intent(Resource(kind="k8s-secret", name=ref, namespace=namespace, step=step,
                                    details={"backup_of": f"{namespace}/{name}"})):
        core.create_namespaced_secret(namespace, body)
    return ref


def restore_secret(ctx, item) -> str:
    """Put the learner's secret back from its backup exactly (data, type, labels, annotations),
    then delete the backup. Without a backup: already restored when the secret is no longer the
    lab's (kept with a reason otherwise)."""
    import json

    from kubernetes import client

    namespace, name = _split(item)
    backup_ns, _, backup_name = item.details["backup"].partition("/")
    core = ctx.clients.core_v1()
    saved = _read(lambda: core.read_namespaced_secret(backup_name, backup_ns))
    current = _read(lambda: core.read_namespaced_secret(name, namespace))
    if saved is None:
        labels = (current.metadata.labels or {}) if current is not None else {}
        if current is not None and labels.get(LABEL_KEY) == ctx.ledger.lineage:
            raise Keep(f"its backup {item.details['backup']} is gone, so the original cannot be "
                       "put back; it still holds the lab's key")
        return GONE  # restored by an earlier, interrupted cleanup
    meta = json.loads((saved.metadata.annotations or {}).get(ORIGINAL_META) or "{}")
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=meta.get("labels"),
                                     annotations=meta.get("annotations")),
        type=meta.get("type") or saved.type, data=saved.data)
    if current is None:
        core.create_namespaced_secret(namespace, body)
    else:
        core.replace_namespaced_secret(name, namespace, body)
    _read(lambda: core.delete_namespaced_secret(backup_name, backup_ns))
    ctx.ledger.mark_deleted("k8s-secret", item.details["backup"])
    return "restored"


def simple_command(item):
    """kubectl delete for a secret, role or rolebinding (for a replaced secret: putting the
    original back from its backup)."""
    namespace, name = _split(item)
    if item.details.get("backup"):
        backup = item.details["backup"].partition("/")[2]
        return cmd("kubectl", "get", "secret", backup, "-n", namespace, "-o", "yaml",
                   note=f"then re-create {name} from it (data and type), and delete {backup}")
    what = {"k8s-secret": "secret", "k8s-role": "role", "k8s-rolebinding": "rolebinding"}[item.kind]
    return cmd("kubectl", "delete", what, name, "-n", namespace or "<namespace>")


# -- the service account's annotation ---------------------------------------------------------------
def _annotation(item) -> tuple[str, str, str]:
    """(namespace, service account, annotation key) of an annotation item."""
    namespace, _, rest = item.name.partition("/")
    account, _, key = rest.partition("/")
    details = item.details
    return (item.namespace or namespace, details.get("service_account") or account,
            details.get("key") or key)


def annotation_exists(ctx, item) -> bool:
    """Whether the service account still carries the value the wizard put there."""
    namespace, account, key = _annotation(item)
    sa = k8s.service_account(ctx, namespace, account)
    current = (sa.metadata.annotations or {}).get(key) if sa else None
    return current is not None and current == item.details.get("value") \
        and current != item.details.get("previous")


def annotation_remove(ctx, item) -> str:
    """Put back the previous value (or remove the annotation) if it is still the wizard's value."""
    namespace, account, key = _annotation(item)
    sa = k8s.service_account(ctx, namespace, account)
    current = (sa.metadata.annotations or {}).get(key) if sa else None
    if current is None or current == item.details.get("previous"):
        return GONE
    if item.details.get("value") and current != item.details["value"]:
        raise Keep(f"it now holds {current}, not the value the wizard set; left as it is")
    ctx.clients.core_v1().patch_namespaced_service_account(
        account, namespace, {"metadata": {"annotations": {key: item.details.get("previous")}}})
    return REMOVED


def annotation_command(item):
    """kubectl annotate restoring (or removing) the annotation."""
    namespace, account, key = _annotation(item)
    previous = item.details.get("previous")
    value = f"{key}={previous}" if previous else f"{key}-"
    return cmd("kubectl", "annotate", "-n", namespace, "serviceaccount", account, value,
               *(["--overwrite"] if previous else []))
