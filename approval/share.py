"""A shared registry: the registry account lets deploy accounts read a group's packages (its resource policy).

What a deploy account needs, from AWS's developer guide: "Deploy a Model Version from a Different Account"
(model-registry-deploy-xaccount) grants `sagemaker:CreateModel` (a Model whose container names the package),
`DescribeModelPackage` and `ListModelPackages` on the group's packages; "Set up discoverability"
(model-registry-ram-discover) names both the group's ARN and its packages' (`model-package/GROUP/*`) as the resources.
Nothing that approves, updates or deletes a package is granted: deciding stays with the registry account.
"""

from __future__ import annotations

import json
import re
from typing import Any

ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
DEPLOY_ACTIONS = (
    "sagemaker:CreateModel",
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
)


def group_policy(group_arn: str, accounts: list[str]) -> dict[str, Any]:
    """The resource policy letting `accounts` find the newest approved package and deploy it; approving stays with
    the registry account. The partition (aws, aws-cn, aws-us-gov) is the group ARN's."""
    for account in accounts:
        if not ACCOUNT_PATTERN.match(account):
            raise ValueError(f"--account {account!r}: not a 12-digit AWS account id")
    partition = group_arn.split(":")[1]
    packages_arn = group_arn.replace(":model-package-group/", ":model-package/") + "/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DeployAccountsDeployTheGroupsPackages",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:{partition}:iam::{account}:root" for account in accounts]},
                "Action": list(DEPLOY_ACTIONS),
                "Resource": [group_arn, packages_arn],
            },
        ],
    }


def share(sagemaker: Any, group: str, accounts: list[str]) -> dict[str, Any]:
    """PutModelPackageGroupPolicy on the group; the policy as stored."""
    group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    policy = group_policy(group_arn, accounts)
    sagemaker.put_model_package_group_policy(ModelPackageGroupName=group, ResourcePolicy=json.dumps(policy))
    stored: dict[str, Any] = json.loads(
        sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)["ResourcePolicy"]
    )
    return stored
