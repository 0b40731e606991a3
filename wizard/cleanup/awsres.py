"""Removing the lab's S3 objects and bucket and its IAM roles, users, access keys and policies.

A bucket goes only when the wizard created it and nothing else is left in it. IAM entities go
with what hangs on them (attached and inline policies, keys, instance profiles) first, as IAM
requires; an entity tagged with another lab's lineage is kept.
"""

from __future__ import annotations

from wizard.aws.errors import error_code, explain as explain_aws
from wizard.cleanup.common import GONE, REMOVED, Keep
from wizard.errors import StepError
from wizard.ledger import TAG_KEY
from wizard.protocol import cmd

_S3_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


def _uri(item) -> tuple[str, str]:
    """Bucket and key of an ``s3://`` item."""
    bucket, _, key = item.name.removeprefix("s3://").partition("/")
    return bucket, key


# -- S3 ----------------------------------------------------------------------------------------
def _keys(s3, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` (none when the bucket is gone)."""
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) in _S3_MISSING:
            return []
        raise explain_aws(exc, f"listing s3://{bucket}/{prefix}") from None


def s3_exists(ctx, item) -> bool:
    """Whether the object, any object under the prefix, or the bucket still exists."""
    s3 = ctx.clients.aws("s3")
    bucket, key = _uri(item)
    if item.kind == "s3-bucket":
        try:
            s3.head_bucket(Bucket=item.name)
            return True
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) in _S3_MISSING:
                return False
            raise explain_aws(exc, f"reading bucket {item.name}") from None
    if item.kind == "s3-prefix":
        return bool(_keys(s3, bucket, key))
    return key in _keys(s3, bucket, key)


def s3_remove(ctx, item) -> str:
    """Delete the object, the objects under the prefix, or the (empty) bucket."""
    s3 = ctx.clients.aws("s3")
    if not s3_exists(ctx, item):
        return GONE
    if item.kind == "s3-bucket":
        left = _keys(s3, item.name, "")
        if left:
            raise Keep(f"it still holds {len(left)} object(s) the wizard did not write")
        s3.delete_bucket(Bucket=item.name)
        return REMOVED
    bucket, key = _uri(item)
    keys = _keys(s3, bucket, key) if item.kind == "s3-prefix" else [key]
    for start in range(0, len(keys), 1000):
        answer = s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})
        # the call succeeds as a whole even when some keys were not deleted: those are errors
        errors = answer.get("Errors") or []
        if errors:
            first = errors[0]
            raise StepError(
                f"S3 did not delete {len(errors)} object(s) under {item.name}, e.g. "
                f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip(),
                remediation="Check your permission to delete in the bucket (s3:DeleteObject), "
                "then run cleanup again.")
    return REMOVED


def s3_command(item):
    """The equivalent aws s3 command."""
    if item.kind == "s3-bucket":
        return cmd("aws", "s3api", "delete-bucket", "--bucket", item.name)
    if item.kind == "s3-prefix":
        return cmd("aws", "s3", "rm", "--recursive", item.name)
    return cmd("aws", "s3", "rm", item.name)


# -- IAM ---------------------------------------------------------------------------------------
def _missing(exc) -> bool:
    """Whether an IAM error means the entity does not exist."""
    return error_code(exc) == "NoSuchEntity"


def _check_tags(tags: list, what: str, lineage: str) -> None:
    """Refuse (keep) an entity whose lineage tag names another lab."""
    value = {t["Key"]: t["Value"] for t in tags or []}.get(TAG_KEY)
    if value not in (None, lineage):
        raise Keep(f"{what} is tagged with another lab's lineage ({value})")


def _policy_target(item) -> tuple[str, str, str]:
    """(on: user|role, entity, policy name) of an inline policy item named ``on/entity/policy``."""
    on, _, rest = item.name.partition("/")
    entity, _, policy = rest.partition("/")
    d = item.details
    return d.get("on") or on, d.get("entity") or entity, d.get("policy") or policy


def iam_exists(ctx, item) -> bool:
    """Whether the role, user, access key or policy still exists."""
    iam = ctx.clients.aws("iam")
    try:
        if item.kind == "iam-role":
            iam.get_role(RoleName=item.name)
        elif item.kind == "iam-user":
            iam.get_user(UserName=item.name)
        elif item.kind == "iam-access-key":
            keys = iam.list_access_keys(UserName=item.details["user"])["AccessKeyMetadata"]
            return item.name in {k["AccessKeyId"] for k in keys}
        elif item.arn and ":policy/" in item.arn:
            iam.get_policy(PolicyArn=item.arn)
        else:
            on, entity, policy = _policy_target(item)
            if on == "user":
                iam.get_user_policy(UserName=entity, PolicyName=policy)
            else:
                iam.get_role_policy(RoleName=entity, PolicyName=policy)
        return True
    except Exception as exc:  # noqa: BLE001
        if _missing(exc):
            return False
        raise explain_aws(exc, f"reading {item.kind} {item.name}") from None


def iam_remove(ctx, item) -> str:
    """Delete the IAM entity after what hangs on it."""
    if not iam_exists(ctx, item):
        return GONE
    iam = ctx.clients.aws("iam")
    lineage = ctx.ledger.lineage
    try:
        if item.kind == "iam-role":
            _remove_role(iam, item.name, lineage)
        elif item.kind == "iam-user":
            _remove_user(iam, item.name, lineage)
        elif item.kind == "iam-access-key":
            iam.delete_access_key(UserName=item.details["user"], AccessKeyId=item.name)
        elif item.arn and ":policy/" in item.arn:
            _remove_managed_policy(iam, item.arn)
        else:
            on, entity, policy = _policy_target(item)
            if on == "user":
                iam.delete_user_policy(UserName=entity, PolicyName=policy)
            else:
                iam.delete_role_policy(RoleName=entity, PolicyName=policy)
    except Keep:
        raise
    except Exception as exc:  # noqa: BLE001
        if _missing(exc):
            return GONE
        raise explain_aws(exc, f"deleting {item.kind} {item.name}") from None
    return REMOVED


def _remove_role(iam, name: str, lineage: str) -> None:
    """Detach and delete its policies, leave its instance profiles, then delete the role."""
    _check_tags(iam.list_role_tags(RoleName=name).get("Tags"), f"role {name}", lineage)
    for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=p["PolicyArn"])
    for p in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=p)
    for profile in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"],
                                              RoleName=name)
    iam.delete_role(RoleName=name)


def _remove_user(iam, name: str, lineage: str) -> None:
    """Delete its keys and policies (and console password), then the user."""
    _check_tags(iam.list_user_tags(UserName=name).get("Tags"), f"user {name}", lineage)
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=name, PolicyArn=p["PolicyArn"])
    for p in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=p)
    try:
        iam.delete_login_profile(UserName=name)
    except Exception as exc:  # noqa: BLE001 - most lab users never had a console password
        if not _missing(exc):
            raise
    iam.delete_user(UserName=name)


def _remove_managed_policy(iam, arn: str) -> None:
    """Detach the policy everywhere, delete its old versions, then the policy."""
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    for role in entities.get("PolicyRoles", []):
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    for user in entities.get("PolicyUsers", []):
        iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
    for group in entities.get("PolicyGroups", []):
        iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)


def iam_command(item):
    """The equivalent aws iam command (the last of the sequence for roles and users)."""
    if item.kind == "iam-role":
        return cmd("aws", "iam", "delete-role", "--role-name", item.name,
                   note="after detach-role-policy / delete-role-policy for each of its policies")
    if item.kind == "iam-user":
        return cmd("aws", "iam", "delete-user", "--user-name", item.name,
                   note="after delete-access-key and detach-user-policy for its keys and policies")
    if item.kind == "iam-access-key":
        return cmd("aws", "iam", "delete-access-key", "--user-name", item.details.get("user", "<user>"),
                   "--access-key-id", item.name)
    if item.arn and ":policy/" in item.arn:
        return cmd("aws", "iam", "delete-policy", "--policy-arn", item.arn)
    on, entity, policy = _policy_target(item)
    return cmd("aws", "iam", f"delete-{on}-policy", f"--{on}-name", entity, "--policy-name", policy)


# -- a learner's role whose trust policy the lab changed (after they agreed) ----------------------
def _trust_now(iam, name: str) -> dict | None:
    """The role's trust policy as a document, None when the role is gone."""
    import json
    from urllib.parse import unquote

    try:
        document = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    except Exception as exc:  # noqa: BLE001
        if _missing(exc):
            return None
        raise explain_aws(exc, f"reading role {name}") from None
    return json.loads(unquote(document)) if isinstance(document, str) else document


def trust_exists(ctx, item) -> bool:
    """Whether the role still has the trust policy the lab set (not yet put back)."""
    import json

    current = _trust_now(ctx.clients.aws("iam"), item.name)
    return current is not None and current != json.loads(item.details["previous"])


def trust_remove(ctx, item) -> str:
    """Put the role's original trust policy back, if the role still has the lab's."""
    import json

    iam = ctx.clients.aws("iam")
    current = _trust_now(iam, item.name)
    previous = json.loads(item.details["previous"])
    if current is None or current == previous:
        return GONE
    if item.details.get("value") and current != json.loads(item.details["value"]):
        raise Keep("its trust policy was changed again since the lab changed it; left as it is")
    iam.update_assume_role_policy(RoleName=item.name, PolicyDocument=item.details["previous"])
    return "restored"


def trust_command(item):
    """The command that puts the original trust policy back."""
    return cmd("aws", "iam", "update-assume-role-policy", "--role-name", item.name,
               "--policy-document", item.details.get("previous", "<original document>"))
