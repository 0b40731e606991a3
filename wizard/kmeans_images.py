"""Where SageMaker's built-in k-means algorithm image lives, region by region.

SageMaker publishes its first-party algorithm images in one ECR registry per region, owned by an
AWS account that differs between regions. The table below is that fact (the registry account of
the ``kmeans`` repository, image version ``1``), as listed in SageMaker's documentation of
"Docker Registry Paths" and in the SageMaker Python SDK's image URI configuration.

The lab pipeline calls :func:`kmeans_image_uri` to fill in the training image; the sandbox calls
:func:`parse_kmeans_image` to decide whether an image it is asked to run is the k-means image.
This module imports nothing heavy, so the CLI may import it at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: region -> account owning the regional registry of SageMaker's k-means image
KMEANS_REGISTRY_ACCOUNTS: dict[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "991648021394",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}

#: the tags SageMaker serves the k-means image under
KMEANS_TAGS = ("1", "latest")

_IMAGE_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<domain>amazonaws\.com(?:\.cn)?|c2s\.ic\.gov)"
    r"/(?P<repo>[a-z0-9._/-]+)(?::(?P<tag>[A-Za-z0-9._-]+))?$"
)


class UnknownRegionError(ValueError):
    """The region has no k-means registry in the table; the message lists the known regions."""


def _domain(region: str) -> str:
    """The ECR host suffix for a region (China regions live under amazonaws.com.cn)."""
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith("us-iso-"):
        return "c2s.ic.gov"
    return "amazonaws.com"


def kmeans_image_uri(region: str, tag: str = "1") -> str:
    """The URI of SageMaker's k-means image in ``region``, e.g. for eu-west-1
    ``438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1``.

    Raises :class:`UnknownRegionError` naming the regions that do have it.
    """
    account = KMEANS_REGISTRY_ACCOUNTS.get(region)
    if account is None:
        raise UnknownRegionError(
            f"SageMaker's k-means image is not published in region '{region}'. "
            f"Use one of: {', '.join(sorted(KMEANS_REGISTRY_ACCOUNTS))}."
        )
    return f"{account}.dkr.ecr.{region}.{_domain(region)}/kmeans:{tag}"


@dataclass(frozen=True)
class ImageRef:
    """An ECR image URI split into its parts."""

    account: str
    region: str
    repository: str
    tag: str


def parse_ecr_image(uri: str) -> ImageRef | None:
    """Split ``<account>.dkr.ecr.<region>.<domain>/<repo>[:tag]``; None if it is not an ECR URI."""
    match = _IMAGE_RE.match(uri.strip())
    if not match:
        return None
    return ImageRef(match["account"], match["region"], match["repo"], match["tag"] or "latest")


def parse_kmeans_image(uri: str) -> ImageRef | None:
    """The image if ``uri`` is SageMaker's k-means image of any region, else None.

    The registry account must be the one SageMaker uses in that image's region: an image named
    ``kmeans`` in some other account is somebody else's image, not the algorithm.
    """
    ref = parse_ecr_image(uri)
    if ref is None or ref.repository != "kmeans" or ref.tag not in KMEANS_TAGS:
        return None
    if KMEANS_REGISTRY_ACCOUNTS.get(ref.region) != ref.account:
        return None
    return ref
