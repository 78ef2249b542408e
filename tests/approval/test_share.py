"""A shared registry: the registry account's group policy lets deploy accounts find and read its packages."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from approval.cli import main
from approval.share import group_policy, share
from tests.conftest import RunningLocalAws
from tests.registry.packages import new_group

DEPLOY_ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def sagemaker(local_aws: RunningLocalAws) -> Any:
    return local_aws.client("sagemaker")


def test_deploy_accounts_may_read_the_group_and_its_packages_and_nothing_more(sagemaker: Any) -> None:
    group = new_group(sagemaker)

    stored = share(sagemaker, group, [DEPLOY_ACCOUNT])

    group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    assert stored == group_policy(group_arn, [DEPLOY_ACCOUNT])
    (statement,) = stored["Statement"]
    # What "Deploy a Model Version from a Different Account" grants the deploy account, on the group and on its
    # packages as "Set up discoverability" names them; nothing that approves, updates or deletes.
    assert set(statement["Action"]) == {
        "sagemaker:CreateModel",
        "sagemaker:DescribeModelPackage",
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:ListModelPackages",
    }
    assert statement["Resource"] == [group_arn, group_arn.replace(":model-package-group/", ":model-package/") + "/*"]
    assert statement["Resource"][1].endswith(f":model-package/{group}/*")
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{DEPLOY_ACCOUNT}:root"]}
    assert not any(action.startswith(("sagemaker:Update", "sagemaker:Delete")) for action in statement["Action"])


def test_the_principals_partition_is_the_groups() -> None:
    group_arn = "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package-group/digits"

    (statement,) = group_policy(group_arn, [DEPLOY_ACCOUNT])["Statement"]

    assert statement["Principal"] == {"AWS": [f"arn:aws-cn:iam::{DEPLOY_ACCOUNT}:root"]}
    assert statement["Resource"][1] == "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/digits/*"


def test_a_group_policy_that_is_not_a_policy_document_is_refused(sagemaker: Any) -> None:
    group = new_group(sagemaker)

    with pytest.raises(ClientError, match="ValidationException"):
        sagemaker.put_model_package_group_policy(ModelPackageGroupName=group, ResourcePolicy="allow everyone")
    with pytest.raises(ClientError, match="has no resource policy"):
        sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)


def test_a_missing_group_or_a_bad_account_is_one_line_and_exit_1(
    local_aws: RunningLocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in local_aws.environment.items():
        monkeypatch.setenv(name, value)

    assert main(["share", "--group", "no-such-group", "--account", DEPLOY_ACCOUNT]) == 1
    assert main(["share", "--group", new_group(local_aws.client("sagemaker")), "--account", "12345"]) == 1

    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2
    assert "no-such-group" in errors[0]
    assert "not a 12-digit AWS account id" in errors[1]
