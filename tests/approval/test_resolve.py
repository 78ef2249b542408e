"""The resolve step: the newest approved package recorded for synth, every refusal in one line with nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from approval.cli import main
from approval.resolve import ApprovalError, record, recorded, resolve
from contract.model_package import context_key
from registry.packages import RegistryError
from stacks.settings import settings_from_context
from tests.conftest import RunningLocalAws
from tests.registry.packages import create, new_group


@pytest.fixture
def aws_environment(local_aws: RunningLocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's boto3 clients reach the local AWS, as under `python -m local_aws run`."""
    for name, value in local_aws.environment.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def sagemaker(local_aws: RunningLocalAws) -> Any:
    return local_aws.client("sagemaker")


def test_the_newest_approved_package_is_recorded_not_the_oldest_nor_a_pending_one(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    create(sagemaker, group, status="Approved")
    newest = create(sagemaker, group, status="Approved")
    create(sagemaker, group)  # newer, pending
    create(sagemaker, group, status="Rejected")

    assert resolve(sagemaker, group).arn == newest


def test_the_record_is_what_synth_reads(sagemaker: Any, tmp_path: Path) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group, status="Approved")
    context_file = tmp_path / "cdk.context.json"
    context_file.write_text(json.dumps({"availability-zones:account=1:region=x": ["a"]}))

    record(context_file, group, resolve(sagemaker, group))

    context = json.loads(context_file.read_text())
    assert context["availability-zones:account=1:region=x"] == ["a"]  # CDK's own lookups are kept
    settings = settings_from_context({"model_package_group": group, **context})
    assert settings.model_package is not None
    assert settings.model_package.arn == arn
    assert recorded(context_file, group) == settings.model_package


def test_rejecting_the_newest_resolves_the_previous_approved_one(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    first = create(sagemaker, group, status="Approved")
    second = create(sagemaker, group, status="Approved")
    assert resolve(sagemaker, group).arn == second

    sagemaker.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Rejected")

    assert resolve(sagemaker, group).arn == first


def test_a_package_named_explicitly_must_be_approved_and_of_the_group(sagemaker: Any) -> None:
    group, other = new_group(sagemaker), new_group(sagemaker)
    pending = create(sagemaker, group)
    approved = create(sagemaker, group, status="Approved")
    elsewhere = create(sagemaker, other, status="Approved")

    assert resolve(sagemaker, group, approved).arn == approved
    with pytest.raises(ApprovalError, match="is PendingManualApproval; only an Approved package is deployed"):
        resolve(sagemaker, group, pending)
    with pytest.raises(ApprovalError, match=f"belongs to group {other}, not {group}"):
        resolve(sagemaker, group, elsewhere)


def test_no_group_no_approved_package_and_another_model_type_are_refused(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    create(sagemaker, group)
    with pytest.raises(RegistryError, match="does not exist"):
        resolve(sagemaker, "no-such-group")
    with pytest.raises(RegistryError, match="has no Approved package"):
        resolve(sagemaker, group)
    foreign = create(
        sagemaker, group, status="Approved", image="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch:2.1"
    )
    with pytest.raises(RegistryError, match="not a k-means model"):
        resolve(sagemaker, group, foreign)


def test_a_group_name_with_upper_case_is_refused_before_any_call() -> None:
    """AWS lowers the group's name in its packages' ARNs; the name is refused rather than compared both ways."""
    with pytest.raises(ApprovalError, match="'MixedCase': has upper case letters, which AWS lowers"):
        resolve(object(), "MixedCase")
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/MixedCase"
    with pytest.raises(ApprovalError, match="has upper case letters"):
        resolve(object(), arn)


class PackageStatus:
    """SageMaker as the resolve step reads it, but answering DescribeModelPackage with another ModelPackageStatus
    (the local AWS, as moto, creates every package Completed at once)."""

    def __init__(self, sagemaker: Any, status: str) -> None:
        self.sagemaker, self.status = sagemaker, status

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sagemaker, name)

    def describe_model_package(self, **kwargs: Any) -> dict[str, Any]:
        described: dict[str, Any] = self.sagemaker.describe_model_package(**kwargs)
        return described | {"ModelPackageStatus": self.status}


@pytest.mark.parametrize("status", ["Pending", "InProgress", "Failed", "Deleting"])
def test_a_package_whose_creation_did_not_complete_is_refused(sagemaker: Any, status: str) -> None:
    group = new_group(sagemaker)
    approved = create(sagemaker, group, status="Approved")
    assert resolve(PackageStatus(sagemaker, "Completed"), group).arn == approved

    for named in (None, approved):
        with pytest.raises(ApprovalError, match=f"ModelPackageStatus is {status}, only a Completed package"):
            resolve(PackageStatus(sagemaker, status), group, named)


@pytest.mark.parametrize("case", ["unknown group", "pending package", "unknown package"])
def test_the_cli_refuses_in_one_line_and_writes_nothing(
    case: str, sagemaker: Any, aws_environment: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = new_group(sagemaker)
    pending = create(sagemaker, group)
    arguments = {
        "unknown group": ["--group", "no-such-group"],
        "pending package": ["--group", group, "--package", pending],
        "unknown package": ["--group", group, "--package", pending.rsplit("/", 1)[0] + "/99"],
    }[case]
    context_file = tmp_path / "cdk.context.json"

    code = main(["resolve", *arguments, "--context-file", str(context_file)])

    error = capsys.readouterr().err
    assert code == 1
    assert error.startswith("error: ")
    assert error.count("\n") == 1
    assert not context_file.exists()
    assert list(tmp_path.iterdir()) == []


def test_the_cli_records_the_package(sagemaker: Any, aws_environment: None, tmp_path: Path) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group, status="Approved")

    assert main(["resolve", "--group", group, "--context-file", str(tmp_path / "c.json")]) == 0

    assert json.loads((tmp_path / "c.json").read_text())[context_key(group)]["arn"] == arn
