"""S3 work of the data-upload step: the bucket, the MNIST file, and uploads that skip what is there.

An object is uploaded only when S3 does not already hold the same bytes: the wizard records the
SHA-256 of what it uploads in the object's metadata (``x-amz-meta-labwiz-sha256``) and compares
it, falling back to the ETag (the MD5 of a single-part upload) for objects others uploaded.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
from pathlib import Path

from wizard.aws.errors import error_code, explain as explain_aws
from wizard.errors import InputError, StepError
from wizard.protocol import Command, Context, Reporter, Resource, cmd

#: the lab's own copy (event engine assets) and the public SageMaker sample files
LAB_ASSET_URI = "s3://ee-assets-prod-eu-west-1/modules/cb9c6461a4f440c69d8681bc5a2975a1/v1/lab1/mnist.pkl.gz"
SAMPLE_FILES_URI = "s3://sagemaker-sample-files/datasets/image/MNIST/mnist.pkl.gz"
MULTIPART_CHUNK = 8 * 1024 * 1024
SHA_META = "labwiz-sha256"
#: what ``mnist_path`` takes to ask for the offline digits on real AWS (the sandbox uses them
#: by itself)
OFFLINE = "offline"


# -- the commands of what this module does (the same builders serve the run and --explain) -----
def head_bucket_command(bucket, account=None) -> Command:
    """Whether the bucket exists and is the account's."""
    owner = ["--expected-bucket-owner", account] if account else []
    return cmd("aws", "s3api", "head-bucket", "--bucket", bucket, *owner,
               note="403: access denied, or the bucket is another account's; 404: it does not "
               "exist yet")


def location_command(bucket) -> Command:
    """The bucket's region."""
    return cmd("aws", "s3api", "get-bucket-location", "--bucket", bucket,
               note="it must be the lab's region")


def create_bucket_command(bucket, region: str) -> Command:
    """``aws s3api create-bucket`` in a region (us-east-1 takes no LocationConstraint)."""
    args = ["aws", "s3api", "create-bucket", "--bucket", bucket, "--region", region]
    if region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
        args += ["--create-bucket-configuration", f"LocationConstraint={region}"]
    return cmd(*args, note="only when the bucket does not exist")


def tagging_command(bucket, tags: dict) -> Command:
    """The wizard's tags on a bucket it created."""
    tag_set = ",".join(f"{{Key={k},Value={v}}}" for k, v in tags.items())
    return cmd("aws", "s3api", "put-bucket-tagging", "--bucket", bucket, "--tagging",
               f"TagSet=[{tag_set}]", note="only on a bucket the wizard created")


def fetch_command(uri: str, dest, unsigned: bool = False) -> Command:
    """Download an S3 object (the public sample files need no credentials)."""
    return cmd("aws", "s3", "cp", *(["--no-sign-request"] if unsigned else []), uri, str(dest))


def head_object_command(bucket, key: str) -> Command:
    """An object's size, ETag and metadata."""
    return cmd("aws", "s3api", "head-object", "--bucket", bucket, "--key", key,
               note="an object already there with the same content is not uploaded again")


def upload_command(path, uri) -> Command:
    """``aws s3 cp`` of a local file."""
    return cmd("aws", "s3", "cp", str(path), uri)


def ensure_bucket(ctx: Context, reporter: Reporter, bucket: str, region: str, step: str) -> None:
    """Create the bucket when absent; refuse one owned by someone else or in another region."""
    s3 = ctx.clients.aws("s3")
    account = ctx.outputs_of("credentials").get("account_id")
    reporter.command(head_bucket_command(bucket, account))
    try:
        kwargs = {"Bucket": bucket}
        if account:
            kwargs["ExpectedBucketOwner"] = account
        s3.head_bucket(**kwargs)
        exists = True
    except Exception as exc:  # noqa: BLE001 - the status tells which case this is
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or error_code(exc) in ("404", "NoSuchBucket"):
            exists = False
        elif status == 403 or error_code(exc) in ("403", "AccessDenied", "Forbidden"):
            raise bucket_refused(ctx, s3, bucket, account) from None
        else:
            raise explain_aws(exc, f"checking bucket {bucket}") from None
    if exists:
        reporter.command(location_command(bucket))
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        location = "eu-west-1" if location == "EU" else location
        if location != region:
            raise InputError(
                f"The bucket {bucket} is in {location}, not in the lab's region {region}.",
                remediation=f"Use a bucket in {region}, or run the lab in {location} "
                f"(labwiz reset --to credentials, then answer region: {location}).")
        reporter.log(f"Bucket {bucket} exists in {region}; using it.")
        return
    kwargs = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    reporter.command(create_bucket_command(bucket, region))
    try:
        with ctx.ledger.intent(Resource(kind="s3-bucket", name=bucket, region=region, step=step)):
            s3.create_bucket(**kwargs)
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "BucketAlreadyOwnedByYou":
            return
        if error_code(exc) == "BucketAlreadyExists":
            raise InputError(f"The bucket name {bucket} is taken by another account.",
                             remediation="Choose another bucket name.") from None
        raise explain_aws(exc, f"creating bucket {bucket}") from None
    tags = [{"Key": k, "Value": v} for k, v in ctx.ledger.tags().items()]
    reporter.command(tagging_command(bucket, ctx.ledger.tags()))
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    reporter.log(f"Created bucket {bucket} in {region}.", "success")


def obtain_mnist(ctx: Context, reporter: Reporter, given: str | None) -> Path:
    """``mnist.pkl.gz`` from, in order: the learner's path, the lab's asset, the public sample
    files.

    The offline stand-in (scikit-learn's digits shaped like MNIST) is used only in the sandbox
    (where the lab's asset URI serves it; built locally if that sandbox predates it) or when the
    learner names it (``mnist_path: offline``). On real AWS, MNIST that cannot be had is a
    failure saying what to do, never a silent swap of the lab's data.
    """
    if given and given != OFFLINE:
        reporter.log(f"Using {given}.")
        return Path(given)
    cache = Path(ctx.state_dir) / "data" / "mnist.pkl.gz"
    marker = _offline_marker(cache)
    stand_in_ok = given == OFFLINE or ctx.target.is_sandbox
    if cache.exists() and (stand_in_ok or not marker.exists()) and (
            given != OFFLINE or marker.exists()):
        return cache
    cache.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    if given == OFFLINE:
        return _offline(reporter, cache, "you asked for them (mnist_path: offline)")
    sources = [(LAB_ASSET_URI, False)] + ([] if ctx.target.is_sandbox else [(SAMPLE_FILES_URI, True)])
    failures = []
    for uri, unsigned in sources:
        reporter.command(fetch_command(uri, cache, unsigned))
        try:
            _download(ctx, reporter, uri, cache, unsigned)
            return cache
        except Exception as exc:  # noqa: BLE001 - try the next source
            failures.append(f"{uri}: {error_code(exc) or type(exc).__name__}")
            reporter.log(f"Could not fetch {uri}: {error_code(exc) or type(exc).__name__}.",
                         "warning")
            cache.unlink(missing_ok=True)
    if ctx.target.is_sandbox:
        return _offline(reporter, cache, "this sandbox has no copy at the lab's asset URI")
    raise StepError(
        "mnist.pkl.gz could not be downloaded (" + "; ".join(failures) + ").",
        remediation="Download it where you can (the lab's 'aws s3 cp " + LAB_ASSET_URI + " .', "
        "or 'aws s3 cp --no-sign-request " + SAMPLE_FILES_URI + " .') and give its path as "
        "mnist_path; or, to rehearse with scikit-learn's small digits instead of MNIST, answer "
        f"mnist_path: {OFFLINE}.")


def _offline(reporter: Reporter, cache: Path, why: str) -> Path:
    """Build the offline stand-in at ``cache``, marked as such beside it."""
    from wizard.extras import missing

    # the stand-in is built from scikit-learn's digits, which the lean install has not got
    absent = missing({"sklearn": "scikit-learn", "numpy": "numpy"})
    if absent:
        raise StepError(
            f"The offline stand-in for MNIST needs {', '.join(absent)}, which this install has "
            "not got.",
            remediation="Install the sandbox's engines (pip install 'labwiz[sandbox]'), or give "
                        "the path of a downloaded mnist.pkl.gz as mnist_path.")
    import shutil

    from wizard.sandbox.mnist import cached_mnist_pkl_gz

    reporter.log(f"Using the offline stand-in for MNIST ({why}): real handwritten digits shipped "
                 "with scikit-learn, shaped like the lab's file.", "warning")
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(cache.name + ".partial")
    shutil.copyfile(cached_mnist_pkl_gz(), partial)
    partial.replace(cache)  # whole or absent, never a half copy where the lab looks for it
    _offline_marker(cache).write_text("scikit-learn digits, not MNIST\n")
    return cache


def _offline_marker(cache: Path) -> Path:
    """The file that says a cached ``mnist.pkl.gz`` is the offline stand-in."""
    return cache.with_name(cache.name + ".offline")


def _download(ctx: Context, reporter: Reporter, uri: str, dest: Path, unsigned: bool) -> None:
    bucket, key = uri[5:].split("/", 1)
    if unsigned:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        s3 = boto3.client("s3", region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    else:
        s3 = ctx.clients.aws("s3")
    size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    done = [0]

    def tick(n):
        done[0] += n
        reporter.progress("download mnist.pkl.gz", done[0], size, "B")

    s3.download_file(bucket, key, str(dest), Callback=tick)


def check_mnist(path: Path) -> None:
    """Refuse a file that is not the lab's MNIST pickle (three (X, y) pairs of 784-wide rows)."""
    try:
        with gzip.open(path, "rb") as fh:
            sets = pickle.load(fh, encoding="latin1")
        ok = (isinstance(sets, (tuple, list)) and len(sets) == 3
              and all(len(s) == 2 and getattr(s[0], "shape", (0, 0))[1] == 784
                      and len(s[0]) == len(s[1]) for s in sets))
    except Exception as exc:  # noqa: BLE001 - any failure means it is not the file we need
        raise InputError(f"{path} is not a readable mnist.pkl.gz ({type(exc).__name__}: {exc}).",
                         remediation="Give the lab's mnist.pkl.gz, or leave mnist_path empty.") from None
    if not ok:
        raise InputError(f"{path} loads but does not have MNIST's shape (train, valid, test pairs "
                         "of 784-pixel rows and labels).",
                         remediation="Give the lab's mnist.pkl.gz, or leave mnist_path empty.")


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_etag(path: Path) -> str:
    """The ETag S3 gives this file when uploaded with the wizard's multipart settings."""
    size = Path(path).stat().st_size
    with open(path, "rb") as fh:
        if size < MULTIPART_CHUNK:
            return hashlib.md5(fh.read()).hexdigest()  # noqa: S324 - S3's ETag is MD5
        parts = [hashlib.md5(chunk).digest()  # noqa: S324
                 for chunk in iter(lambda: fh.read(MULTIPART_CHUNK), b"")]
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"  # noqa: S324


def remote_etag(s3, bucket: str, key: str) -> str | None:
    """An object's ETag (without quotes), or None when it does not exist."""
    head = _head(s3, bucket, key)
    return head["ETag"].strip('"') if head else None


def bucket_refused(ctx: Context, s3, bucket: str, account: str | None):
    """The error for a 403 from HeadBucket, which has two causes S3 does not tell apart: the
    bucket is another account's (the ``ExpectedBucketOwner`` check), or access is denied (an IAM
    policy or the bucket's policy). Asked again without the owner check: an answer means the
    bucket is someone else's; another 403 means access is denied, and says what to check."""
    if account:
        try:
            s3.head_bucket(Bucket=bucket)
            return InputError(
                f"The bucket {bucket} belongs to another account, not to yours ({account}).",
                remediation="Bucket names are global: choose another name, e.g. "
                f"'{bucket}-{account}'.")
        except Exception:  # noqa: BLE001 - refused again: access is denied, said below
            pass
    try:
        who = ctx.clients.aws("sts").get_caller_identity()["Arn"]
    except Exception:  # noqa: BLE001 - the hint stays useful without the name
        who = "your identity ('aws sts get-caller-identity' shows it)"
    return StepError(
        f"Access to the bucket {bucket} was denied (S3 answered 403 AccessDenied to "
        f"head-bucket as {who}).",
        remediation=f"Check the permissions: {who} needs s3:ListBucket on arn:aws:s3:::{bucket} "
        f"and s3:GetObject/s3:PutObject on arn:aws:s3:::{bucket}/*, from its IAM policies "
        f"('aws iam simulate-principal-policy --policy-source-arn <your ARN> --action-names "
        f"s3:ListBucket s3:PutObject --resource-arns arn:aws:s3:::{bucket} "
        f"arn:aws:s3:::{bucket}/*'), and no Deny in the bucket's policy ('aws s3api "
        f"get-bucket-policy --bucket {bucket}'). If the bucket is not yours, choose another name.")


def _head(s3, bucket: str, key: str) -> dict | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise explain_aws(exc, f"reading s3://{bucket}/{key}") from None


def upload_if_changed(ctx: Context, reporter: Reporter, path: Path, bucket: str, key: str,
                      step: str) -> str:
    """Upload ``path`` to ``s3://bucket/key`` unless the same bytes are already there."""
    from boto3.s3.transfer import TransferConfig

    s3 = ctx.clients.aws("s3")
    uri = f"s3://{bucket}/{key}"
    digest = sha256_of(path)
    head = _head(s3, bucket, key)
    if head and (head.get("Metadata", {}).get(SHA_META) == digest
                 or head["ETag"].strip('"') == local_etag(path)):
        reporter.log(f"{uri} is already there with the same content; not uploading it again.")
        ctx.ledger.reused(Resource(kind="s3-object", name=uri, step=step))  # unless the lab's
        return uri
    if head and not ctx.ledger.find("s3-object", uri):
        # someone else's object (the learner's own script, say): never overwritten; the lab's
        # copy goes next to it, under a folder named after the lab, and the pipeline uses that
        folder, _, base = key.rpartition("/")
        key = f"{folder}/labwiz-{ctx.ledger.lineage[:8]}/{base}".lstrip("/")
        reporter.log(f"{uri} exists with other content and the lab did not write it: keeping it "
                     f"as it is and using s3://{bucket}/{key} instead.", "warning")
        uri = f"s3://{bucket}/{key}"
        head = _head(s3, bucket, key)
        if head and head.get("Metadata", {}).get(SHA_META) == digest:
            return uri
    reporter.command(upload_command(path, uri))
    size = path.stat().st_size
    sent = [0]

    def tick(n):
        sent[0] += n
        reporter.progress(f"upload {path.name}", sent[0], size, "B")

    reporter.progress(f"upload {path.name}", 0, size, "B")
    try:
        with ctx.ledger.intent(Resource(kind="s3-object", name=uri, step=step,
                                        details={"sha256": digest})):
            s3.upload_file(str(path), bucket, key, Callback=tick,
                           ExtraArgs={"Metadata": {SHA_META: digest}},
                           Config=TransferConfig(multipart_threshold=MULTIPART_CHUNK,
                                                 multipart_chunksize=MULTIPART_CHUNK))
    except Exception as exc:  # noqa: BLE001
        raise explain_aws(exc, f"uploading {path.name} to {uri}") from None
    reporter.progress(f"upload {path.name}", size, size, "B")
    reporter.log(f"Uploaded {uri} ({size:,} bytes).", "success")
    return uri
