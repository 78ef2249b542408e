"""A shared registry: the registry account lets deploy accounts read a group's packages (its resource policy)."""

from __future__ import annotations

import json
import re
from typing import Any

ACCOUNT_PATTERN = re.compile(r"^\d{12}$")


def group_policy(group_arn: str, accounts: list[str]) -> dict[str, Any]:
    """The resource policy letting `accounts` find the newest approved package and read it; approving stays with
    the registry account."""
    for account in accounts:
        if not ACCOUNT_PATTERN.match(account):
            raise ValueError(f"--account {account!r}: not a 12-digit AWS account id")
    packages_arn = group_arn.replace(":model-package-group/", ":model-package/") + "/*"
    principals = [f"arn:aws:iam::{account}:root" for account in accounts]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DeployAccountsReadTheGroup",
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": ["sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages"],
                "Resource": group_arn,
            },
            {
                "Sid": "DeployAccountsReadItsPackages",
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": ["sagemaker:DescribeModelPackage"],
                "Resource": packages_arn,
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
