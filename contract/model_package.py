"""The approved model package a registry-deployed stack serves, as recorded in CDK context for synth.

The resolve step (`python -m approval resolve --group NAME`) reads the registry once and writes this record into
`cdk.context.json` under `model-package:group=NAME`, as CDK's own lookups record what they found; synth reads only
the record, so it stays offline and deterministic, and `cdk diff` shows another package as a change of the Model
(its `ModelPackageName`), of the execution role's grant (the package's artifact object) and of the outputs.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Final
from urllib.parse import urlparse

CONTEXT_KEY_PREFIX: Final = "model-package:group="
APPROVED: Final = "Approved"
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
PACKAGE_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/\d+$"
)
GROUP_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package-group/(?P<name>.+)$")
GROUP_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# AWS writes a group's name in lower case in its packages' ARNs (the developer guide's pipeline tutorial shows
# model-package/abalonemodelpackagegroupname/2 for the group AbaloneModelPackageGroupName; moto does the same), while
# other answers (ModelPackageGroupName in DescribeModelPackage, in the events) may name it as created: AWS does not
# say. Rather than guess which answer spells it how, a group whose name has upper case letters is refused at register,
# resolve and synth alike.
UPPER_CASE = re.compile(r"[A-Z]")


class PackageRecordError(ValueError):
    """A recorded package synth cannot serve; the message says which and why, in one line."""


def context_key(group: str) -> str:
    """Where the resolve step records a group's package in cdk.context.json (a CDK-lookup-style key)."""
    return f"{CONTEXT_KEY_PREFIX}{group}"


def group_name(group: str) -> str:
    """The group's name, given its name or (a shared registry in another account) its ARN."""
    found = GROUP_ARN_PATTERN.match(group)
    name = found.group("name") if found else group
    if not GROUP_NAME_PATTERN.match(name):
        raise PackageRecordError(f"model package group {group!r}: not a group name or ARN (1-63 letters, digits, -)")
    if UPPER_CASE.search(name):
        raise PackageRecordError(
            f"model package group {name!r}: has upper case letters, which AWS lowers in its packages' ARNs; "
            "use a lower-case group name"
        )
    return name


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise PackageRecordError(f"{url!r} is not an s3://bucket/key URL")
    return parsed.netloc, parsed.path.lstrip("/")


@dataclass(frozen=True)
class RecordedPackage:
    """What synth needs of an approved k-means package, and what verification checks it against."""

    arn: str
    group: str
    version: int
    approval_status: str
    image: str
    model_data_url: str
    artifact_sha256: str
    clusters: int
    feature_dim: int
    reference_url: str
    reference_sha256: str

    def __post_init__(self) -> None:
        if not PACKAGE_ARN_PATTERN.match(self.arn):
            raise PackageRecordError(f"model package {self.arn!r}: not a versioned model package ARN")
        if self.approval_status != APPROVED:
            raise PackageRecordError(
                f"model package {self.arn}: is {self.approval_status}, only an {APPROVED} package is deployed"
            )
        for name in ("artifact_sha256", "reference_sha256"):
            if not SHA256_PATTERN.match(getattr(self, name)):
                raise PackageRecordError(f"model package {self.arn}: {name} is not a sha256 hex digest")
        split_s3_url(self.model_data_url)
        split_s3_url(self.reference_url)
        if self.clusters < 1 or self.feature_dim < 1:
            raise PackageRecordError(f"model package {self.arn}: clusters and features must be positive")

    @property
    def artifact_bucket(self) -> str:
        return split_s3_url(self.model_data_url)[0]

    @property
    def artifact_key(self) -> str:
        return split_s3_url(self.model_data_url)[1]

    def to_context(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_context(cls, value: Any, where: str) -> RecordedPackage:
        """The record as cdk.context.json holds it; refused in one line when it is not one."""
        names = {field.name for field in fields(cls)}
        if not isinstance(value, dict) or set(value) != names:
            raise PackageRecordError(
                f"{where}: not a recorded model package (expected keys {', '.join(sorted(names))})"
            )
        try:
            return cls(**{**value, "version": int(value["version"]), "clusters": int(value["clusters"]),
                          "feature_dim": int(value["feature_dim"])})  # fmt: skip
        except (TypeError, ValueError) as error:
            if isinstance(error, PackageRecordError):
                raise
            raise PackageRecordError(f"{where}: not a recorded model package ({error})") from error


EVENT_SOURCE: Final = "aws.sagemaker"
EVENT_DETAIL_TYPE: Final = "SageMaker Model Package State Change"
# Approved deploys the package; Rejected redeploys the newest still-approved one (rollback by rejection).
# Never PendingManualApproval: a registration alone must start nothing (sagemaker-custom-project-templates#15).
DEPLOYING_STATUSES: Final = ("Approved", "Rejected")


def approval_event_pattern(group: str) -> dict[str, Any]:
    """The EventBridge pattern of the events that change what a group's stack serves (pipeline and local alike)."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": [group_name(group)], "ModelApprovalStatus": list(DEPLOYING_STATUSES)},
    }
