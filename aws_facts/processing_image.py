"""Where SageMaker's prebuilt scikit-learn image lives, which the drift monitor's processing job runs on.

One AWS-owned ECR account per region, from the SageMaker Python SDK's `image_uri_config/sklearn.json`
(version 1.2-1, the same account for its training, inference and processing scopes); the SDK's
`SKLearnProcessor` runs this image. The tag is `<version>-cpu-py3`, as the SDK composes it. What the image
provides is built by aws/sagemaker-scikit-learn-container `docker/1.2-1/base/Dockerfile.cpu` (Python 3.9 from
Miniconda, scikit-learn 1.2.1, pyarrow 14.0.1) and its `requirements.txt` (numpy, scipy, pandas, boto3).
"""

from __future__ import annotations

from aws_facts.kmeans_image import registry_domain  # the ECR domain of a partition: one home

SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
SKLEARN_VERSION = "1.2-1"
SKLEARN_TAG = f"{SKLEARN_VERSION}-cpu-py3"
SKLEARN_PYTHON = "python3"  # Python 3.9 on the image's PATH (/miniconda3/bin)

SKLEARN_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


def sklearn_image_uri(region: str) -> str | None:
    """The scikit-learn processing image of `region`, or None where the SDK lists none."""
    account = SKLEARN_ACCOUNTS.get(region)
    if account is None:
        return None
    return f"{account}.dkr.ecr.{region}.{registry_domain(region)}/{SKLEARN_REPOSITORY}:{SKLEARN_TAG}"


def image_mapping() -> dict[str, dict[str, str]]:
    """CfnMapping body: region -> account and registry domain, so one template deploys anywhere."""
    return {
        region: {"account": account, "domain": registry_domain(region)} for region, account in SKLEARN_ACCOUNTS.items()
    }
