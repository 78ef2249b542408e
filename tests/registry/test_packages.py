"""Reading packages back: the newest approved one, one by ARN, and every refusal in one line."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from registry import metadata as meta
from registry.packages import RegistryError, describe, latest_approved, packages_of, read_reference
from tests.conftest import RunningLocalAws
from tests.registry.packages import create, new_group, properties, put


@pytest.fixture(scope="module")
def sagemaker(local_aws: RunningLocalAws) -> Any:
    return local_aws.client("sagemaker")


@pytest.fixture(scope="module")
def s3(local_aws: RunningLocalAws) -> Any:
    return local_aws.client("s3")


def test_the_newest_approved_package_is_chosen_not_the_oldest(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    oldest = create(sagemaker, group, status="Approved")
    newest = create(sagemaker, group, status="Approved")
    create(sagemaker, group)  # newer still, but pending
    create(sagemaker, group, status="Rejected")

    package = latest_approved(sagemaker, group)

    assert package.arn == newest != oldest
    assert (package.version, package.approval_status, package.features) == (2, "Approved", 64)


def test_a_rejected_package_gives_way_to_the_previous_approved_one(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    first = create(sagemaker, group, status="Approved")
    second = create(sagemaker, group, status="Approved")
    sagemaker.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Rejected")

    assert latest_approved(sagemaker, group).arn == first


def test_a_group_without_approved_packages_is_refused(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    create(sagemaker, group)
    create(sagemaker, group, status="Rejected")

    with pytest.raises(RegistryError, match=f"^model package group {group}: has no Approved package$"):
        latest_approved(sagemaker, group)


def test_a_missing_group_is_refused(sagemaker: Any) -> None:
    with pytest.raises(RegistryError, match=r"^model package group no-such-group: does not exist$"):
        latest_approved(sagemaker, "no-such-group")


def test_a_missing_package_is_refused(sagemaker: Any) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/no-such-group/7"
    with pytest.raises(RegistryError, match=f"^model package {arn}: does not exist"):
        describe(sagemaker, arn)


def test_a_package_of_another_image_is_refused(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group, status="Approved", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1")

    with pytest.raises(RegistryError, match="not a k-means model") as refused:
        latest_approved(sagemaker, group)
    assert arn in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_package_of_another_feature_count_is_refused(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group, status="Approved")

    with pytest.raises(RegistryError, match=f"^model package {arn}: takes 64 features, not 784$"):
        describe(sagemaker, arn, features=784)


def test_a_package_without_the_projects_metadata_is_refused(sagemaker: Any) -> None:
    group = new_group(sagemaker)
    arn = create(sagemaker, group, status="Approved", custom={"owner": "someone"})

    with pytest.raises(RegistryError, match=f"^model package {arn}: not registered by"):
        describe(sagemaker, arn)


def test_a_reference_set_whose_bytes_changed_is_refused(sagemaker: Any, s3: Any) -> None:
    group = new_group(sagemaker)
    package = describe(sagemaker, create(sagemaker, group, status="Approved"))
    put(s3, package.reference_uri.split("/", 3)[3], b"rows")
    assert read_reference(s3, package) == b"rows"

    put(s3, package.reference_uri.split("/", 3)[3], b"other rows")

    with pytest.raises(RegistryError, match=r"^reference set s3://.*: has sha256 .*, the package records"):
        read_reference(s3, package)


def test_metadata_beyond_aws_limits_is_refused_before_any_call() -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    assert len(properties(sha)) <= meta.limits()[0]
    with pytest.raises(meta.MetadataError, match="characters AWS refuses"):
        meta.check({meta.VERDICT: "a sentence, with a comma"})
    with pytest.raises(meta.MetadataError, match=r"has 257 characters \(AWS allows 1-256\)"):
        meta.check({meta.MANIFEST_URI: "s" * 257})
    with pytest.raises(meta.MetadataError, match="51 entries, AWS allows 50"):
        meta.check({f"k{index}": "v" for index in range(51)})


@pytest.mark.parametrize(("value", "allowed"), [
    ("one two", True), ("no\u00a0break", True), ("ideographic\u3000space", True), ("é5_.:/=+-@", True),
    ("a\ttab", False), ("a\nnewline", False), ("a\rreturn", False), ("a\x0bvertical tab", False),
])  # fmt: skip
def test_metadata_values_take_unicode_space_separators_not_tabs_or_line_breaks(value: str, allowed: bool) -> None:
    """AWS's CustomerMetadataValue pattern allows \\p{Z} (separators), which tabs and line breaks are not."""
    if allowed:
        meta.check({meta.VERDICT: value})
    else:
        with pytest.raises(meta.MetadataError, match="characters AWS refuses"):
            meta.check({meta.VERDICT: value})


def test_every_listing_asks_for_versioned_packages(local_aws: RunningLocalAws) -> None:
    """ListModelPackages lists unversioned packages when no ModelPackageType is given (botocore's documentation)."""
    sagemaker = local_aws.client("sagemaker")  # its own client: the spy below stays on it
    group = new_group(sagemaker)
    approved = create(sagemaker, group, status="Approved")
    calls: list[dict[str, Any]] = []
    sagemaker.meta.events.register(
        "provide-client-params.sagemaker.ListModelPackages", lambda params, **_: calls.append(dict(params))
    )

    assert latest_approved(sagemaker, group).arn == approved
    assert packages_of(sagemaker, group) == [approved]
    assert len(calls) == 2
    assert all(call["ModelPackageType"] == "Versioned" for call in calls)
