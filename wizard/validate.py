"""Validation of the values a learner types, with messages that say what to do.

Every validator takes ``(value, ctx)`` as :class:`~wizard.protocol.InputSpec` expects, returns the
normalised value, or raises :class:`~wizard.errors.InputError`.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlparse

from wizard.errors import InputError

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b")
ROLE_ARN = re.compile(
    rf"^arn:(?P<partition>{'|'.join(map(re.escape, PARTITIONS))}):iam::(?P<account>\d{{12}}):"
    r"role/(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
REGION_SHAPE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


def role_arn(value, ctx=None) -> str:
    """An IAM role ARN: partition, 12-digit account, ``role/`` with an optional path."""
    text = str(value).strip()
    match = ROLE_ARN.match(text)
    if match:
        return text
    if ROLE_NAME.match(text) and not text.startswith("arn:"):
        account = _account_hint(ctx)
        raise InputError(
            f"'{text}' is a role name; an ARN is needed here.",
            remediation=f"Use the role's ARN: arn:aws:iam::{account}:role/{text} (see "
            f"'aws iam get-role --role-name {text} --query Role.Arn --output text').")
    if text.startswith("arn:") and ":user/" in text:
        raise InputError(f"'{text}' is an IAM user, not a role.",
                         remediation="SageMaker assumes a role: give a role ARN (arn:aws:iam::"
                         "<account>:role/<name>).")
    if text.startswith("arn:") and ":assumed-role/" in text:
        name = text.split(":assumed-role/", 1)[1].split("/", 1)[0]
        account = text.split(":")[4] if len(text.split(":")) > 4 else "<account>"
        raise InputError(f"'{text}' is an assumed-role session, not the role itself.",
                         remediation=f"Use arn:aws:iam::{account}:role/{name}.")
    parts = text.split(":")
    if text.startswith("arn:") and len(parts) > 2 and parts[1] not in PARTITIONS:
        fixed = ":".join(["arn", "aws", *parts[2:]])
        raise InputError(f"'{text}' has the partition '{parts[1]}'; IAM's partitions are "
                         f"{', '.join(PARTITIONS)}.",
                         remediation=f"Most accounts are in 'aws': use {fixed} (copy the ARN from "
                         "'aws iam get-role --role-name NAME --query Role.Arn').")
    if text.startswith("arn:") and len(parts) > 4 and not re.fullmatch(r"\d{12}", parts[4]):
        raise InputError(f"'{text}' has account '{parts[4]}'; an account id is 12 digits.",
                         remediation="Copy the ARN from 'aws iam get-role --role-name NAME'.")
    raise InputError(f"'{text}' is not an IAM role ARN.",
                     remediation="A role ARN looks like arn:aws:iam::123456789012:role/NAME "
                     "(optionally with a path: role/service-role/NAME).")


def role_name_of(arn: str) -> str:
    """The role name in a role ARN (the part after any path)."""
    return ROLE_ARN.match(arn).group("name")


def _account_hint(ctx) -> str:
    try:
        return ctx.outputs_of("credentials").get("account_id") or "<account-id>"
    except Exception:  # noqa: BLE001 - a hint only
        return "<account-id>"


def bucket_name(value, ctx=None) -> str:
    """An S3 bucket name by S3's rules for new buckets."""
    name = str(value).strip()
    if name.startswith("s3://"):
        raise InputError(f"'{name}' is an S3 URI; give the bucket's name only.",
                         remediation=f"Use '{name[5:].split('/', 1)[0]}'.")
    problems = []
    if not 3 <= len(name) <= 63:
        problems.append("it must be 3 to 63 characters long")
    if not re.fullmatch(r"[a-z0-9.-]*", name):
        problems.append("only lowercase letters, digits, dots and hyphens are allowed")
    if name and (not name[0].isalnum() or not name[-1].isalnum()):
        problems.append("it must begin and end with a letter or digit")
    if ".." in name:
        problems.append("it must not contain two dots in a row")
    try:
        ipaddress.IPv4Address(name)
        problems.append("it must not look like an IP address")
    except ValueError:
        pass
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            problems.append(f"it must not start with '{prefix}'")
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3"):
        if name.endswith(suffix):
            problems.append(f"it must not end with '{suffix}'")
    if problems:
        raise InputError(f"'{name}' is not a valid S3 bucket name: {'; '.join(problems)}.",
                         remediation="Choose a name like 'kfp-sagemaker-lab-123456789012'.")
    return name


def namespace(value, ctx=None) -> str:
    """A Kubernetes namespace name (an RFC 1123 label)."""
    name = str(value).strip()
    if not name or len(name) > 63 or not DNS_LABEL.match(name):
        lowered = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63]
        raise InputError(f"'{name}' is not a valid Kubernetes namespace name.",
                         remediation="Use at most 63 lowercase letters, digits and '-', starting "
                         f"and ending with a letter or digit{f' (e.g. {lowered!r})' if lowered else ''}.")
    return name


service_account = namespace  # the same RFC 1123 label rules (subdomain rules are wider; labels suffice)


def region(value, ctx=None) -> str:
    """An AWS region this machine's botocore knows for SageMaker."""
    name = str(value).strip().lower()
    known = known_regions()
    if name in known:
        return name
    close = [r for r in known if r.split("-")[0] == name.split("-")[0]][:6]
    shape = "" if REGION_SHAPE.match(name) else " (regions look like eu-west-1)"
    raise InputError(f"'{name}' is not an AWS region where SageMaker is available{shape}.",
                     remediation="Use one of: " + ", ".join(close or sorted(known)[:8]) + ", ...")


def known_regions() -> set[str]:
    """Regions botocore lists for SageMaker in every partition."""
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("sagemaker", partition_name=partition))
    return regions


def host_url(value, ctx=None) -> str:
    """A Kubeflow Pipelines host: an http(s) URL with a host name."""
    text = str(value).strip().rstrip("/")
    if not text or any(c.isspace() for c in text):
        raise InputError(f"'{text}' is not a URL (empty, or it contains spaces).",
                         remediation="Use a URL such as http://localhost:8080 or "
                         "https://kubeflow.example.com/pipeline.")
    if "://" not in text:
        raise InputError(f"'{text}' has no scheme.",
                         remediation=f"Use a URL such as http://{text} or https://{text}.")
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"'{text}' is not an http(s) URL with a host.",
                         remediation="Use a URL such as http://localhost:8080 or "
                         "https://kubeflow.example.com/pipeline.")
    try:
        parsed.port
    except ValueError:
        raise InputError(f"'{text}' has an invalid port.",
                         remediation="Ports are numbers from 1 to 65535.") from None
    return text


def choice(*allowed: str):
    """A validator accepting one of ``allowed`` (case-insensitive)."""
    def check(value, ctx=None) -> str:
        text = str(value).strip().lower()
        if text in allowed:
            return text
        raise InputError(f"'{value}' is not one of: {', '.join(allowed)}.",
                         remediation=f"Choose {', '.join(allowed[:-1])} or {allowed[-1]}.")
    return check


_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*"
_IMAGE_REF = re.compile(rf"^(?P<name>{_IMAGE_NAME})(?::[\w][\w.-]{{0,127}})?"
                        r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")


def image_reference(value, ctx=None) -> str:
    """A container image reference as Docker and Kubernetes parse it: ``[registry[:port]/]path
    [:tag][@algorithm:digest]``, lower-case path, name at most 255 characters."""
    text = str(value).strip()
    match = _IMAGE_REF.match(text)
    if not match or len(match.group("name")) > 255:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise InputError(f"'{shown}' is not a container image reference.",
                         remediation="Give one like python:3.11-slim or "
                         "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-image:1.0 (a lower-case "
                         "name, an optional :tag and @sha256:digest), or leave it empty.")
    return text
