"""Read k-means model packages back from the registry: one by ARN, or the newest approved one of a group.

Every refusal (no such group, no approved package, a package that is not this project's k-means model, a
reference set whose bytes are not the ones the package records) is one `RegistryError` with one line naming it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from aws_facts.kmeans_image import image_uri
from registry import metadata as meta
from registry.storage import split_s3_uri

APPROVED: Final = "Approved"
REJECTED: Final = "Rejected"
PENDING: Final = "PendingManualApproval"
COMPLETED: Final = "Completed"  # the ModelPackageStatus of a package whose creation finished (DescribeModelPackage)
# ListModelPackages lists *unversioned* packages when no ModelPackageType is given (botocore's documentation of the
# parameter), so every listing here asks for the group's versioned packages explicitly.
VERSIONED: Final = "Versioned"


class RegistryError(Exception):
    """A package or group that cannot serve as this project's model; the message is one line naming it."""


class NoSuchGroupError(RegistryError):
    """The model package group does not exist."""


class NoApprovedPackageError(RegistryError):
    """The group exists and holds no Approved package."""


@dataclass(frozen=True)
class Comparison:
    """How the package's model compares with the approved package it was registered against."""

    compared_to: str  # that package's ARN
    agreement: float
    adjusted_rand_index: float
    verdict: str  # meta.SAME_SOLUTION or meta.DIFFERENT_SOLUTION


@dataclass(frozen=True)
class Package:
    """A registered k-means model: where it is, what it is, and what it was checked against."""

    arn: str
    group: str
    version: int
    approval_status: str
    status: str  # ModelPackageStatus: only a Completed package is deployed
    creation_time: datetime
    image: str
    model_data_url: str
    artifact_sha256: str
    clusters: int
    features: int
    manifest_uri: str
    reference_uri: str
    reference_sha256: str
    aligned_to: str | None  # the previous artifact's sha256, when the build was aligned
    comparison: Comparison | None  # when the group had an approved package at registration

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def describe(client: Any, arn: str, *, features: int | None = None) -> Package:
    """The package `arn` (a SageMaker client), refused unless it is a k-means package (of `features` features)."""
    try:
        described = client.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        raise RegistryError(f"model package {arn}: {_aws_error(error)}") from error
    package = _package(described)
    if features is not None and package.features != features:
        raise RegistryError(f"model package {arn}: takes {package.features} features, not {features}")
    return package


def latest_approved(client: Any, group: str, *, features: int | None = None) -> Package:
    """The group's newest Approved package by creation time (pending and rejected ones skipped)."""
    _check_group(client, group)
    # SortOrder explicitly: its default is Ascending, which gives the *oldest* approved package (the mistake in
    # AWS's "MLOps template for model deployment").
    pages = client.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group,
        ModelPackageType=VERSIONED,
        ModelApprovalStatus=APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    for page in pages:
        for summary in page["ModelPackageSummaryList"]:
            return describe(client, summary["ModelPackageArn"], features=features)
    raise NoApprovedPackageError(f"model package group {group}: has no Approved package")


def packages_of(client: Any, group: str) -> list[str]:
    """The ARNs of every package of `group`, newest first, whatever their approval status."""
    pages = client.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelPackageType=VERSIONED, SortBy="CreationTime", SortOrder="Descending"
    )
    return [summary["ModelPackageArn"] for page in pages for summary in page["ModelPackageSummaryList"]]


def group_exists(client: Any, group: str) -> bool:
    try:
        client.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        if _missing(error):
            return False
        raise RegistryError(f"model package group {group}: {_aws_error(error)}") from error
    return True


def read_verified(s3: Any, uri: str, sha256: str, what: str) -> bytes:
    """The object at `uri` (an S3 client), refused unless its bytes have the sha256 the package records."""
    bucket, key = split_s3_uri(uri)
    try:
        data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise RegistryError(f"{what} {uri}: {_aws_error(error)}") from error
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise RegistryError(f"{what} {uri}: has sha256 {actual[:12]}…, the package records {sha256[:12]}…")
    return data


def read_reference(s3: Any, package: Package) -> bytes:
    """The package's reference set (reference.npz bytes), checked against the sha256 it records."""
    return read_verified(s3, package.reference_uri, package.reference_sha256, "reference set")


def _check_group(client: Any, group: str) -> None:
    if not group_exists(client, group):
        raise NoSuchGroupError(f"model package group {group}: does not exist")


def _package(described: dict[str, Any]) -> Package:
    arn = described["ModelPackageArn"]
    properties = described.get("CustomerMetadataProperties") or {}
    container = _kmeans_container(arn, described)
    missing = [key for key in meta.REQUIRED if key not in properties]
    if properties.get(meta.MODEL_TYPE, meta.KMEANS) != meta.KMEANS or missing:
        raise RegistryError(
            f"model package {arn}: not registered by `python -m model_build register` "
            f"(no {', '.join(missing) or meta.MODEL_TYPE + '=' + meta.KMEANS})"
        )
    try:
        return Package(
            arn=arn,
            group=described.get("ModelPackageGroupName", ""),
            version=int(described.get("ModelPackageVersion", 0)),
            approval_status=described.get("ModelApprovalStatus", PENDING),
            status=described.get("ModelPackageStatus", ""),
            creation_time=described["CreationTime"],
            image=container["Image"],
            model_data_url=container["ModelDataUrl"],
            artifact_sha256=properties[meta.ARTIFACT_SHA256],
            clusters=int(properties[meta.CLUSTERS]),
            features=int(properties[meta.FEATURES]),
            manifest_uri=properties[meta.MANIFEST_URI],
            reference_uri=properties[meta.REFERENCE_URI],
            reference_sha256=properties[meta.REFERENCE_SHA256],
            aligned_to=None if properties.get(meta.ALIGNED_TO, meta.NONE) == meta.NONE else properties[meta.ALIGNED_TO],
            comparison=_comparison(properties),
        )
    except (KeyError, ValueError) as error:
        raise RegistryError(f"model package {arn}: unreadable metadata ({error})") from error


def _kmeans_container(arn: str, described: dict[str, Any]) -> dict[str, Any]:
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
    region = arn.split(":")[3]
    try:
        expected = image_uri(region)
    except KeyError as error:
        raise RegistryError(f"model package {arn}: SageMaker publishes no k-means image in {region}") from error
    if len(containers) != 1 or containers[0].get("Image") != expected or "ModelDataUrl" not in containers[0]:
        images = [container.get("Image") for container in containers]
        raise RegistryError(
            f"model package {arn}: not a k-means model (containers {images}, expected [{expected!r}] "
            "with a ModelDataUrl)"
        )
    container: dict[str, Any] = containers[0]
    return container


def _comparison(properties: dict[str, str]) -> Comparison | None:
    if meta.COMPARED_TO not in properties:
        return None
    return Comparison(
        compared_to=properties[meta.COMPARED_TO],
        agreement=float(properties[meta.AGREEMENT]),
        adjusted_rand_index=float(properties[meta.ADJUSTED_RAND_INDEX]),
        verdict=properties[meta.VERDICT],
    )


def _missing(error: ClientError) -> bool:
    # SageMaker answers a missing group or package with ValidationException ("... does not exist."), some
    # operations with ResourceNotFound.
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code == "ValidationException" and ("does not exist" in message or "not found" in message)
    )


def _aws_error(error: ClientError) -> str:
    detail = error.response.get("Error", {})
    if _missing(error):
        return f"does not exist ({detail.get('Message', '')})"
    return f"{detail.get('Code', 'error')}: {detail.get('Message', '')}"
