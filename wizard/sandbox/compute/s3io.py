"""S3 transfers for the workers: download a prefix into a directory, upload a directory.

Failures become :class:`JobFailure` with the reason SageMaker would give, so the job fails with a
message that says what to check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class JobFailure(Exception):
    """The job fails with ``reason`` (its FailureReason); ``exit_message`` for processing jobs."""

    def __init__(self, reason: str, exit_message: str | None = None):
        """Keep the FailureReason (and a processing job's ExitMessage)."""
        super().__init__(reason)
        self.reason = reason
        self.exit_message = exit_message


@dataclass(frozen=True)
class S3Url:
    """``s3://bucket/key`` split in two."""

    bucket: str
    key: str

    def __str__(self) -> str:
        """The URL again."""
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_url(url: str) -> S3Url:
    """Split an ``s3://`` URL; raise :class:`JobFailure` for anything else."""
    if not isinstance(url, str) or not url.startswith("s3://") or len(url) <= 5:
        raise JobFailure(f"ClientError: '{url}' is not an S3 URL; use s3://<bucket>/<prefix>.")
    bucket, _, key = url[5:].partition("/")
    if not bucket:
        raise JobFailure(f"ClientError: '{url}' names no bucket; use s3://<bucket>/<prefix>.")
    return S3Url(bucket, key)


def join_url(base: str, *parts: str) -> str:
    """``base`` and ``parts`` joined with single slashes."""
    out = base.rstrip("/")
    for part in parts:
        out += "/" + part.strip("/")
    return out


def client(task: dict, service: str) -> Any:
    """A boto3 client for the sandbox's AWS endpoint with the task's credentials."""
    import boto3
    from botocore.config import Config

    creds = task.get("credentials") or {}
    return boto3.client(
        service,
        endpoint_url=task["aws_url"],
        region_name=task["region"],
        aws_access_key_id=creds.get("key", "testing"),
        aws_secret_access_key=creds.get("secret", "testing"),
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def relative_key(prefix: str, key: str) -> str:
    """Where an object found under ``prefix`` goes, relative to the local directory.

    An exact object lands under its own file name; objects under a "folder" prefix keep their
    path below it; a partial name (``data/tra`` matching ``data/train.csv``) keeps the path below
    the prefix's folder.
    """
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    if prefix.endswith("/") or prefix == "":
        return key[len(prefix):]
    if key.startswith(prefix + "/"):
        return key[len(prefix) + 1:]
    folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(folder):]


def list_objects(s3: Any, url: S3Url) -> list[dict]:
    """Every object under the prefix (all pages), skipping folder markers."""
    found: list[dict] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=url.bucket, Prefix=url.key):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                found.append(obj)
    return found


def download_failure(url: str, err: Exception) -> JobFailure:
    """The FailureReason for an S3 download that AWS refused."""
    code, message = _error_parts(err)
    return JobFailure(
        f"ClientError: Data download failed:Failed to download data. {code} "
        f"({_status(err)}): {message} (S3 URL: {url}). Check that the execution role may "
        "read the bucket."
    )


def _error_parts(err: Exception) -> tuple[str, str]:
    """(code, message) of a botocore ClientError, or the exception's class and text."""
    response = getattr(err, "response", None) or {}
    error = response.get("Error", {})
    return error.get("Code", type(err).__name__), error.get("Message", str(err))


def _status(err: Exception) -> int:
    """The HTTP status a botocore error carried (0 when unknown)."""
    response = getattr(err, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def denied(task: dict, url: str) -> None:
    """Fail as SageMaker does when the ``s3=AccessDenied`` fault is in force for this task."""
    if task.get("s3_denied"):
        raise JobFailure(
            "ClientError: Data download failed:Failed to download data. AccessDenied (403): "
            f"Access Denied (S3 URL: {url}). Check that the execution role may read the bucket."
        )


def download_prefix(task: dict, s3: Any, url_text: str, target: Path, role_arn: str) -> list[Path]:
    """Download every object under ``url_text`` into ``target``; the files written.

    No object at all is an error, worded as SageMaker words it.
    """
    from botocore.exceptions import ClientError

    denied(task, url_text)
    url = parse_s3_url(url_text)
    try:
        objects = list_objects(s3, url)
    except ClientError as err:
        code, _ = _error_parts(err)
        if code == "NoSuchBucket":
            objects = []
        else:
            raise download_failure(url_text, err) from None
    if not objects:
        raise JobFailure(
            f'ClientError: No S3 objects found under S3 URL "{url_text}" given in input data '
            f"source. Please ensure that the bucket exists in the selected region "
            f"({task['region']}), that objects exist under that S3 prefix, and that the role "
            f'"{role_arn}" has "s3:ListBucket" permissions on bucket "{url.bucket}".'
        )
    written = []
    target.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        rel = relative_key(url.key, obj["Key"])
        dest = (target / rel).resolve()
        if not str(dest).startswith(str(target.resolve())):
            continue  # a key with '..' must not write outside the job's directory
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            s3.download_file(url.bucket, obj["Key"], str(dest))
        except ClientError as err:
            raise download_failure(f"s3://{url.bucket}/{obj['Key']}", err) from None
        written.append(dest)
    return written


def download_object(task: dict, s3: Any, url_text: str, dest: Path) -> Path:
    """Download one object; a missing one fails with SageMaker's wording for model data."""
    from botocore.exceptions import ClientError

    denied(task, url_text)
    url = parse_s3_url(url_text)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        s3.download_file(url.bucket, url.key, str(dest))
    except ClientError as err:
        raise download_failure(url_text, err) from None
    return dest


def upload_dir(task: dict, s3: Any, source: Path, url_text: str) -> list[str]:
    """Upload every file under ``source`` to ``url_text``/<relative path>; the URLs written."""
    from botocore.exceptions import ClientError

    url = parse_s3_url(url_text)
    if task.get("s3_denied"):
        raise JobFailure(
            f"ClientError: Failed to upload to {url_text}. AccessDenied (403): Access Denied. "
            "Check that the execution role may write to the bucket."
        )
    written = []
    for root, _dirs, files in os.walk(source):
        for name in sorted(files):
            path = Path(root) / name
            key = join_url(url.key, str(path.relative_to(source))).lstrip("/")
            try:
                s3.upload_file(str(path), url.bucket, key)
            except ClientError as err:
                code, message = _error_parts(err)
                raise JobFailure(
                    f"ClientError: Failed to upload to s3://{url.bucket}/{key}. {code}: "
                    f"{message}. Check that the bucket exists and the role may write to it."
                ) from None
            written.append(f"s3://{url.bucket}/{key}")
    return written


def upload_bytes(task: dict, s3: Any, data: bytes, url_text: str) -> str:
    """Put one object; failures are :class:`JobFailure` naming the URL."""
    from botocore.exceptions import ClientError

    url = parse_s3_url(url_text)
    if task.get("s3_denied"):
        raise JobFailure(
            f"ClientError: Failed to upload to {url_text}. AccessDenied (403): Access Denied. "
            "Check that the execution role may write to the bucket."
        )
    try:
        s3.put_object(Bucket=url.bucket, Key=url.key, Body=data)
    except ClientError as err:
        code, message = _error_parts(err)
        raise JobFailure(
            f"ClientError: Failed to upload to {url_text}. {code}: {message}. Check that the "
            "bucket exists and the role may write to it."
        ) from None
    return url_text
