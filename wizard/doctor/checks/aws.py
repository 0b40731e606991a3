"""AWS access: credentials that work, and one region for the session, bucket, cluster and images."""

from __future__ import annotations

import re
from pathlib import Path

from wizard.doctor.context import DoctorContext, aws_error_code, short_error
from wizard.doctor.model import Skip, check, fail, ok

DOC_CREDS = "https://docs.aws.amazon.com/cli/latest/userguide/cli-chap-authentication.html"
DOC_REGION = "https://docs.aws.amazon.com/general/latest/gr/rande.html"

_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_INVALID = {"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
            "AuthFailure", "InvalidAccessKeyId"}


@check("aws-credentials", "AWS credentials", area="aws", doc_url=DOC_CREDS)
def aws_credentials(ctx: DoctorContext):
    """AWS answers sts:GetCallerIdentity with the credentials the lab uses."""
    from botocore.exceptions import (EndpointConnectionError, NoCredentialsError,
                                     NoRegionError, PartialCredentialsError)

    try:
        who = ctx.identity()
    except (NoCredentialsError, PartialCredentialsError):
        return fail("No AWS credentials were found (environment, profile or instance role).",
                    "Configure credentials: 'aws configure' or 'aws sso login', or export "
                    "AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; then run "
                    "'aws sts get-caller-identity' to confirm.")
    except NoRegionError:
        return fail("No AWS region is set, so AWS cannot be called.",
                    "Export AWS_REGION (the lab uses eu-west-1) or pass --region.", DOC_REGION)
    except EndpointConnectionError as exc:
        return fail(f"AWS could not be reached: {short_error(exc)}.",
                    "Check your network (or, offline, that the sandbox runs: 'labwiz sandbox "
                    "status').")
    except Exception as exc:  # noqa: BLE001 - sorted by AWS error code below
        from wizard.errors import LabwizError

        if isinstance(exc, LabwizError):
            return fail(exc.message, exc.remediation)
        code = aws_error_code(exc)
        if code in _EXPIRED:
            return fail(f"The AWS credentials have expired ({code}).",
                        "Refresh them: 'aws sso login', or get new temporary credentials from "
                        "your console/Event Engine page and export them again.")
        if code in _INVALID:
            return fail(f"AWS rejected the credentials ({code}): the key is wrong or deleted.",
                        "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or your profile) and "
                        "create a new access key if this one was deleted.")
        return fail(f"sts:GetCallerIdentity failed: {short_error(exc)}.",
                    "Run 'aws sts get-caller-identity' to see the same error and fix the "
                    "credentials it points to.")
    return ok(f"Signed in as {who.get('Arn')} (account {who.get('Account')}).")


def _image_regions(ctx: DoctorContext) -> dict[str, str]:
    """ECR image URI -> its region, from the compiled pipeline package and generated components."""
    from wizard.kmeans_images import parse_ecr_image

    paths = []
    package = ctx.outputs("compile").get("package_path")
    if package:
        paths.append(Path(package))
    for comp in (ctx.outputs("component-generation").get("components") or {}).values():
        paths.append(Path(comp))
    found: dict[str, str] = {}
    pattern = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/[A-Za-z0-9._/-]+"
                         r"(?::[A-Za-z0-9._-]+)?")
    for path in paths:
        try:
            text = path.read_text(errors="replace") if path.stat().st_size < 5_000_000 else ""
        except OSError:
            continue
        for uri in pattern.findall(text):
            image = parse_ecr_image(uri)
            if image:
                found[uri] = image.region
    return found


@check("aws-region", "One region everywhere", area="aws", doc_url=DOC_REGION)
def aws_region(ctx: DoctorContext):
    """The session, the lab's recorded region, the bucket, the cluster and the images agree."""
    ctx.require_aws()
    session_region = ctx.clients.session.region_name
    regions: dict[str, str] = {}
    if session_region:
        regions["your AWS session"] = session_region
    if ctx.region:
        regions["the lab's state"] = ctx.region
    if ctx.bucket:
        try:
            loc = ctx.aws("s3").get_bucket_location(Bucket=ctx.bucket).get("LocationConstraint")
            regions[f"bucket {ctx.bucket}"] = loc or "us-east-1"
        except Exception:  # noqa: BLE001 - the bucket check names S3 problems
            pass
    cluster = ctx.cluster_name
    if cluster:
        try:
            arn = ctx.aws("eks").describe_cluster(name=cluster)["cluster"]["arn"]
            regions[f"cluster {cluster}"] = arn.split(":")[3]
        except Exception as exc:  # noqa: BLE001
            if aws_error_code(exc) == "ResourceNotFoundException":
                return fail(f"EKS cluster '{cluster}' does not exist in {session_region}.",
                            "Use the region the cluster is in (export AWS_REGION=<region>), or "
                            f"check the name with 'aws eks list-clusters --region <region>'.",
                            "https://docs.aws.amazon.com/eks/latest/userguide/clusters.html")
    for uri, region in _image_regions(ctx).items():
        regions[f"image {uri}"] = region
    if not regions:
        raise Skip("no region is known yet")
    distinct = sorted(set(regions.values()))
    if len(distinct) == 1:
        return ok(f"Everything is in {distinct[0]} ({', '.join(regions)}).")
    listing = "; ".join(f"{where}: {region}" for where, region in regions.items())
    majority = max(distinct, key=lambda r: list(regions.values()).count(r))
    return fail(f"Regions disagree: {listing}.",
                f"Work in one region: export AWS_REGION={ctx.region or majority} (and "
                "AWS_DEFAULT_REGION), use a bucket created in that region, and images from that "
                "region's registry (regenerate the components and recompile).")
