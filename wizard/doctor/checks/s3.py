"""S3: the lab bucket is reachable and in the lab's region, and the data and script are there."""

from __future__ import annotations

from wizard.doctor.context import DATA_KEY, SCRIPT_KEY, DoctorContext, aws_error_code, short_error
from wizard.doctor.lab import DOC_S3_403
from wizard.doctor.model import Skip, check, fail, ok

DOC_BUCKET = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-overview.html"


def _bucket(ctx: DoctorContext) -> str:
    """The lab's bucket, or Skip when none is chosen yet."""
    if not ctx.bucket:
        raise Skip("no bucket has been chosen yet")
    return ctx.bucket


@check("s3-bucket", "Lab bucket reachable, in the lab's region", area="s3", doc_url=DOC_BUCKET,
       step="data-upload")
def s3_bucket(ctx: DoctorContext):
    """The bucket exists, you may use it, and it lives in the lab's region."""
    bucket = _bucket(ctx)
    s3 = ctx.aws("s3")
    try:
        s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except Exception as exc:  # noqa: BLE001
        code = aws_error_code(exc)
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            return fail(f"S3 answered AccessDenied for bucket {bucket}.",
                        "Give your identity (and the SageMaker execution role) s3:ListBucket, "
                        "s3:GetObject and s3:PutObject on it, and check its bucket policy; "
                        f"'aws s3 ls s3://{bucket}' shows the same error.", DOC_S3_403)
        if code in ("NoSuchBucket", "404"):
            return fail(f"Bucket {bucket} does not exist.",
                        f"Create it in {ctx.region}: aws s3 mb s3://{bucket} --region "
                        f"{ctx.region}, or record the lab's bucket ($AWS_S3_BUCKET_NAME).")
        if code == "PermanentRedirect" or code == "AuthorizationHeaderMalformed":
            return fail(f"Bucket {bucket} is in another region than {ctx.region} ({code}).",
                        f"Use a bucket in {ctx.region}, or run the whole lab in the bucket's "
                        "region.")
        return fail(f"Listing s3://{bucket} failed: {short_error(exc)}.",
                    f"Try 'aws s3 ls s3://{bucket}' to see the same error.")
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    if ctx.region and location != ctx.region:
        return fail(f"Bucket {bucket} is in {location}, but the lab runs in {ctx.region}; "
                    "SageMaker jobs in one region cannot use a bucket in another.",
                    f"Create (or pick) a bucket in {ctx.region}, upload the data there and "
                    f"record it; or run the whole lab in {location}.")
    return ok(f"s3://{bucket} is reachable and in {location}.")


def _split(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` as (bucket, key)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@check("s3-lab-data", "Data and script uploaded", area="s3", doc_url=DOC_BUCKET,
       step="data-upload")
def s3_lab_data(ctx: DoctorContext):
    """mnist.pkl.gz and the preprocessing script are under the lab's prefixes."""
    bucket = _bucket(ctx)
    out = ctx.outputs("data-upload")
    wanted = {"the MNIST data": out.get("data_uri") or f"s3://{bucket}/{DATA_KEY}",
              "the preprocessing script": out.get("script_uri") or f"s3://{bucket}/{SCRIPT_KEY}"}
    s3 = ctx.aws("s3")
    missing, denied = [], []
    for what, uri in wanted.items():
        b, key = _split(uri)
        try:
            s3.head_object(Bucket=b, Key=key)
        except Exception as exc:  # noqa: BLE001
            code = aws_error_code(exc)
            if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                missing.append(f"{what} ({uri})")
            elif code in ("403", "AccessDenied"):
                denied.append(f"{what} ({uri})")
            else:
                raise
    if denied:
        return fail(f"Access denied reading {', '.join(denied)}.",
                    "Allow s3:GetObject on the lab's prefixes for your identity and the "
                    "execution role.", DOC_S3_403)
    if missing:
        return fail(f"Missing: {', '.join(missing)}.",
                    f"Upload them: aws s3 cp mnist.pkl.gz s3://{bucket}/{DATA_KEY}; aws s3 cp "
                    f"kmeans_preprocessing.py s3://{bucket}/{SCRIPT_KEY} (or re-run 'labwiz run "
                    "--from data-upload').")
    return ok(f"Found {' and '.join(wanted.values())}.")
