"""Where SageMaker's built-in k-means image lives (hosting and training alike): one AWS-owned ECR account per region."""

from __future__ import annotations

KMEANS_REPOSITORY = "kmeans"
KMEANS_TAG = "1"

# From the SageMaker Python SDK's image_uri_config/kmeans.json (see shared CONTRACTS.md §3).
KMEANS_ACCOUNTS: dict[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "ca-west-1": "190319476487",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}


def registry_domain(region: str) -> str:
    """The ECR domain of `region`'s partition."""
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region == "us-iso-east-1":
        return "c2s.ic.gov"
    if region == "us-isob-east-1":
        return "sc2s.sgov.gov"
    if region.startswith("us-isof-"):
        return "csp.hci.ic.gov"
    return "amazonaws.com"


def image_mapping() -> dict[str, dict[str, str]]:
    """CfnMapping body: region -> account and registry domain, so one template deploys anywhere."""
    return {
        region: {"account": account, "domain": registry_domain(region)} for region, account in KMEANS_ACCOUNTS.items()
    }
