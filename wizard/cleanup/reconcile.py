"""Reconciling the ledger's intents with what exists.

An intent row is written just before a create (see :meth:`wizard.ledger.Ledger.intent`); when
the process died between the create and its confirmation, the row is still ``intent``. Each kind
has a *finder* here that looks the resource up by what the intent knew before the create (its
name, and the lab's tag, label, content hash or description, so that a same-named thing of
someone else's is never taken for the lab's), and returns what the service assigned (an id, an
ARN) or None when it does not exist. A found resource confirms the row; a missing one abandons
it. A finder that cannot reach its service raises, and the intent stays for the next try.

The engine reconciles a step's intents before the step runs again; cleanup reconciles them all
before it plans.
"""

from __future__ import annotations

from wizard.ledger import INTENT, LABEL_KEY, TAG_KEY
from wizard.protocol import Context, Reporter, Resource


def _aws_missing(exc) -> bool:
    from wizard.aws.errors import error_code

    return error_code(exc) in ("NoSuchEntity", "404", "NoSuchKey", "NotFound", "NoSuchBucket")


def _aws(ctx, doing: str, call):
    """``call()``'s answer, None when AWS says the thing does not exist."""
    from wizard.aws.errors import explain as explain_aws

    try:
        return call()
    except Exception as exc:  # noqa: BLE001
        if _aws_missing(exc):
            return None
        raise explain_aws(exc, doing) from None


def _tagged(tags, lineage: str) -> bool:
    return {t["Key"]: t["Value"] for t in tags or []}.get(TAG_KEY) == lineage


def _iam_role(ctx, row) -> dict | None:
    iam = ctx.clients.aws("iam")
    role = _aws(ctx, f"reading role {row['name']}", lambda: iam.get_role(RoleName=row["name"]))
    if role is None or not _tagged(role["Role"].get("Tags"), ctx.ledger.lineage):
        return None
    return {"arn": role["Role"]["Arn"]}


def _iam_user(ctx, row) -> dict | None:
    iam = ctx.clients.aws("iam")
    tags = _aws(ctx, f"reading user {row['name']}",
                lambda: iam.list_user_tags(UserName=row["name"]))
    if tags is None or not _tagged(tags.get("Tags"), ctx.ledger.lineage):
        return None
    return {}


def _iam_access_key(ctx, row) -> dict | None:
    """The newest key of the lab's user that no ledger row names (the user is the lab's own, so
    any key on it is the lab's)."""
    iam = ctx.clients.aws("iam")
    user = row["details"]["user"]
    keys = _aws(ctx, f"listing the keys of {user}", lambda: iam.list_access_keys(UserName=user))
    known = {r["name"] for r in ctx.ledger.entries(kind="iam-access-key", live_only=False,
                                                     states=("created", "intent", "abandoned"))}
    fresh = sorted((k for k in (keys or {}).get("AccessKeyMetadata", [])
                    if k["AccessKeyId"] not in known), key=lambda k: k["CreateDate"])
    return {"name": fresh[-1]["AccessKeyId"]} if fresh else None


def _iam_policy(ctx, row) -> dict | None:
    from wizard.cleanup.awsres import iam_exists
    from wizard.cleanup.plan import Item

    return {} if iam_exists(ctx, Item(row["kind"], row["name"], arn=row.get("arn"),
                                      details=row.get("details") or {})) else None


def _s3(ctx, row) -> dict | None:
    s3 = ctx.clients.aws("s3")
    if row["kind"] == "s3-bucket":
        found = _aws(ctx, f"reading bucket {row['name']}", lambda: s3.head_bucket(Bucket=row["name"]))
        return None if found is None else {}
    bucket, _, key = row["name"].removeprefix("s3://").partition("/")
    head = _aws(ctx, f"reading {row['name']}", lambda: s3.head_object(Bucket=bucket, Key=key))
    from wizard.s3data import SHA_META

    if head is None or head.get("Metadata", {}).get(SHA_META) != row["details"].get("sha256"):
        return None  # absent, or not the bytes the lab meant to write
    return {}


def _kube(ctx, row) -> dict | None:
    from wizard import k8s
    from wizard.cleanup.kube import _read, _simple

    if row["kind"] == "k8s-annotation":
        d = row["details"]
        sa = k8s.service_account(ctx, row["namespace"], d["service_account"])
        current = (sa.metadata.annotations or {}).get(d["key"]) if sa else None
        return {} if current is not None and current == d.get("value") else None
    from wizard.cleanup.plan import Item

    read, _delete = _simple(ctx, Item(row["kind"], row["name"], namespace=row.get("namespace")))
    obj = _read(read)
    if obj is None or (obj.metadata.labels or {}).get(LABEL_KEY) != ctx.ledger.lineage:
        return None
    return {}


def _kfp(ctx, row) -> dict | None:
    from wizard.cleanup import kfp as kfp_cleanup

    return kfp_cleanup.find_by_name(ctx, row)


FINDERS = {
    "iam-role": _iam_role, "iam-user": _iam_user, "iam-access-key": _iam_access_key,
    "iam-policy": _iam_policy, "s3-bucket": _s3, "s3-object": _s3,
    "k8s-secret": _kube, "k8s-role": _kube, "k8s-rolebinding": _kube, "k8s-annotation": _kube,
    "kfp-pipeline": _kfp, "kfp-pipeline-version": _kfp, "kfp-experiment": _kfp, "kfp-run": _kfp,
}


def pending(ctx: Context, step: str | None = None) -> list[dict]:
    """The intent rows (of one step, or all) still waiting for reconciliation."""
    return [r for r in ctx.ledger.entries(states=(INTENT,))
            if step is None or r.get("step") == step]


def reconcile(ctx: Context, reporter: Reporter | None, step: str | None = None) -> list[dict]:
    """Confirm or abandon every intent (of ``step``, or all); return the rows confirmed."""
    confirmed = []
    for row in pending(ctx, step):
        finder = FINDERS.get(row["kind"])
        if finder is None:
            continue  # a kind with no finder stays an intent: cleanup treats it as possibly there
        found = finder(ctx, row)
        if found is None:
            ctx.ledger.abandon(row, "not found after the process stopped before confirming it")
            if reporter is not None:
                reporter.log(f"{row['kind']} {row['name']} was about to be created when labwiz "
                             "stopped; it does not exist.", "info")
            continue
        details = {**(row.get("details") or {}), **found.get("details", {})}
        ctx.ledger.confirm(row, Resource(kind=row["kind"], name=found.get("name", row["name"]),
                                         arn=found.get("arn"), details=details))
        confirmed.append(row)
        if reporter is not None:
            reporter.log(f"{row['kind']} {row['name']} was created just before labwiz stopped; "
                         "it is now on record.", "warning")
    return confirmed
