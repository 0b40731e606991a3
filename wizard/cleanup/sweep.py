"""After cleanup: list what the lab touched back through each service's *list* API.

The removers decide "removed" or "already gone" by reading or deleting one object by its id.
This module proves the outcome through a different path: it lists the S3 keys under the lab's
objects and prefixes, the IAM roles and users whose names or tags are the lab's (and what hangs on
them), the KFP pipelines, versions, experiments and runs, the custom resources carrying the lab's
label, the namespace's secrets and RBAC objects, the service account's annotation, and the
SageMaker resources carrying the lab's lineage tag. Whatever the lab removed (or found gone) and
the listing still shows is a leftover, reported with the command that removes it.
"""

from __future__ import annotations

from wizard.cleanup.plan import ACK_GROUP, ACK_VERSION, Item, from_labels, from_tags
from wizard.ledger import LABEL_KEY, TAG_KEY
from wizard.protocol import Context


def _s3(ctx: Context, items: list[Item]) -> list[Item]:
    """Objects still listed under the lab's objects and prefixes."""
    from wizard.cleanup.awsres import _keys, _uri

    s3 = ctx.clients.aws("s3")
    left = []
    for item in items:
        if item.kind not in ("s3-object", "s3-prefix"):
            continue
        bucket, key = _uri(item)
        found = _keys(s3, bucket, key)
        if item.kind == "s3-object":
            found = [k for k in found if k == key]
        left += [Item("s3-object", f"s3://{bucket}/{k}", source="listed after cleanup")
                 for k in found]
    return left


def _pages(call, key: str, marker_key: str = "Marker", **args):
    """Every row of a paginated IAM list call."""
    marker = None
    while True:
        page = call(**args, **({marker_key: marker} if marker else {}))
        yield from page.get(key, [])
        if not page.get("IsTruncated"):
            return
        marker = page.get("Marker")


def _iam(ctx: Context, items: list[Item]) -> list[Item]:
    """The lab's roles, users, keys and inline policies still listed by IAM."""
    iam = ctx.clients.aws("iam")
    lineage, short = ctx.ledger.lineage, ctx.ledger.lineage.replace("-", "")[:8]
    planned = {(i.kind, i.name) for i in items}
    left = []

    def ours(kind: str, name: str, tags_call) -> bool:
        if (kind, name) in planned:
            return True
        if not name.startswith("labwiz-") or short not in name:
            return False
        tags = {t["Key"]: t["Value"] for t in tags_call().get("Tags", [])}
        return tags.get(TAG_KEY) == lineage
    for role in _pages(iam.list_roles, "Roles"):
        name = role["RoleName"]
        if ours("iam-role", name, lambda: iam.list_role_tags(RoleName=name)):
            left.append(Item("iam-role", name, source="listed after cleanup"))
    users = set()
    for user in _pages(iam.list_users, "Users"):
        name = user["UserName"]
        users.add(name)
        if ours("iam-user", name, lambda: iam.list_user_tags(UserName=name)):
            left.append(Item("iam-user", name, source="listed after cleanup"))
    for item in items:
        if item.kind == "iam-trust":
            from wizard.cleanup.awsres import trust_exists

            if trust_exists(ctx, item):
                left.append(item)
        if item.kind == "iam-access-key" and item.details.get("user") in users:
            listed = iam.list_access_keys(UserName=item.details["user"])["AccessKeyMetadata"]
            if item.name in {k["AccessKeyId"] for k in listed}:
                left.append(item)
        if item.kind == "iam-policy" and not (item.arn and ":policy/" in item.arn):
            from wizard.cleanup.awsres import _policy_target

            on, entity, policy = _policy_target(item)
            try:
                names = (iam.list_user_policies(UserName=entity) if on == "user"
                         else iam.list_role_policies(RoleName=entity))["PolicyNames"]
            except iam.exceptions.NoSuchEntityException:
                names = []
            if policy in names:
                left.append(item)
    return left


def _kfp(ctx: Context, items: list[Item]) -> list[Item]:
    """The lab's KFP objects still listed (by id, over the list endpoints)."""
    from wizard.cleanup.kfp import _id

    wanted = [i for i in items if i.kind.startswith("kfp-") and _id(i)]
    if not wanted:
        return []
    client = ctx.clients.kfp
    left = []
    pipelines = {p.pipeline_id for p in client.list_pipelines(page_size=200).pipelines or []}
    for item in wanted:
        oid = _id(item)
        if item.kind == "kfp-pipeline":
            listed = oid in pipelines
        elif item.kind == "kfp-pipeline-version":
            pid = item.details.get("pipeline_id")
            listed = pid in pipelines and oid in {
                v.pipeline_version_id for v in
                client.list_pipeline_versions(pid, page_size=200).pipeline_versions or []}
        elif item.kind == "kfp-experiment":
            listed = oid in {e.experiment_id for e in client.list_experiments(
                page_size=200, namespace=item.namespace).experiments or []}
        else:
            listed = oid in {r.run_id for r in client.list_runs(
                page_size=200, namespace=item.namespace).runs or []}
        if listed:
            left.append(item)
    return left


def _kube(ctx: Context, items: list[Item], namespace: str | None) -> list[Item]:
    """Custom resources and secrets/RBAC objects of the lab still listed; the annotation if the
    service account still carries the lab's value."""
    from wizard.cleanup.kube import _annotation, _split

    left = [i for i in from_labels(ctx, namespace)]
    api = ctx.clients.custom_objects()
    for item in items:
        if item.kind == "custom-resource" and item.namespace:
            listed = api.list_namespaced_custom_object(
                ACK_GROUP, ACK_VERSION, item.namespace, item.details["plural"])["items"]
            if item.details["cr_name"] in {o["metadata"]["name"] for o in listed} and \
                    item.key not in {i.key for i in left}:
                left.append(item)
        elif item.kind in ("k8s-secret", "k8s-role", "k8s-rolebinding"):
            ns, name = _split(item)
            lister = {"k8s-secret": lambda: ctx.clients.core_v1().list_namespaced_secret(ns),
                      "k8s-role": lambda: ctx.clients.rbac_v1().list_namespaced_role(ns),
                      "k8s-rolebinding": lambda: ctx.clients.rbac_v1().list_namespaced_role_binding(ns),
                      }[item.kind]
            listed = {o.metadata.name: o for o in lister().items}
            if name in listed and (listed[name].metadata.labels or {}).get(LABEL_KEY) == \
                    ctx.ledger.lineage:
                left.append(item)
        elif item.kind == "k8s-annotation":
            ns, account, key = _annotation(item)
            accounts = ctx.clients.core_v1().list_namespaced_service_account(ns).items
            for sa in accounts:
                if sa.metadata.name == account and \
                        (sa.metadata.annotations or {}).get(key) == item.details.get("value") and \
                        item.details.get("value") != item.details.get("previous"):
                    left.append(item)
    return left


def leftovers(ctx: Context, items: list[Item], namespace: str | None) -> list[Item]:
    """What the lab removed (or found gone) that a listing still shows, and anything still
    carrying the lab's lineage tag or label."""
    left = _s3(ctx, items) + _iam(ctx, items) + _kfp(ctx, items) + _kube(ctx, items, namespace)
    from wizard.cleanup.sagemaker import exists

    sm_items = [i for i in items if i.kind.startswith("sagemaker-")]
    left += [i for i in sm_items if exists(ctx, i)]
    left += from_tags(ctx)
    merged: dict[tuple, Item] = {}
    for item in left:
        merged.setdefault(item.key, item)
    return list(merged.values())
