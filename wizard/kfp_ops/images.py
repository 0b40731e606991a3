"""SageMaker's scikit-learn processing image, region by region.

The registry account of the ``sagemaker-scikit-learn`` repository differs between regions; the
table holds the accounts SageMaker documents under "Docker Registry Paths" for the regions the
lab is usually run in. The tag is the framework version 1.2-1 on CPU.
"""

from __future__ import annotations

from wizard.errors import InputError

SKLEARN_TAG = "1.2-1-cpu-py3"
SKLEARN_REGISTRY_ACCOUNTS: dict[str, str] = {
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-south-1": "720646828776",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ca-central-1": "341280168497",
    "eu-central-1": "492215442770",
    "eu-north-1": "662702820516",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def processing_image_uri(region: str) -> str:
    """The scikit-learn processing image URI of ``region``; a clear error for other regions."""
    account = SKLEARN_REGISTRY_ACCOUNTS.get(region)
    if not account:
        raise InputError(
            f"labwiz does not know SageMaker's scikit-learn image for region {region!r}.",
            remediation="Run the lab in one of: " + ", ".join(sorted(SKLEARN_REGISTRY_ACCOUNTS))
            + " (or pass processing_image when starting the run).")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:{SKLEARN_TAG}"
