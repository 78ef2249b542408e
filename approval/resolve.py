"""Resolve a group's package once and record it in CDK context, where synth reads it (and nothing else)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from contract.model_package import APPROVED, PackageRecordError, RecordedPackage, context_key, group_name
from registry.packages import COMPLETED, Package, describe, latest_approved

CONTEXT_FILE = Path("cdk.context.json")  # where the CDK CLI reads recorded lookups from, beside cdk.json


class ApprovalError(Exception):
    """A group or package that cannot be deployed; the message is one line naming it."""


def resolve(sagemaker: Any, group: str, package_arn: str | None = None) -> RecordedPackage:
    """The group's newest approved package, or `package_arn` (refused unless approved and of this group)."""
    name = _group_name(group)
    package = describe(sagemaker, package_arn) if package_arn else latest_approved(sagemaker, group)
    if package.group != name:
        raise ApprovalError(f"model package {package.arn}: belongs to group {package.group}, not {name}")
    if package.approval_status != APPROVED:
        raise ApprovalError(
            f"model package {package.arn}: is {package.approval_status}; only an {APPROVED} package is deployed "
            f"(approve it first: python -m model_build approve {package.arn})"
        )
    if package.status != COMPLETED:
        raise ApprovalError(
            f"model package {package.arn}: its ModelPackageStatus is {package.status or 'not given'}, "
            f"only a {COMPLETED} package is deployed"
        )
    return _record(package)


def _group_name(group: str) -> str:
    try:
        return group_name(group)
    except PackageRecordError as error:
        raise ApprovalError(str(error)) from error


def _record(package: Package) -> RecordedPackage:
    try:
        return RecordedPackage(
            arn=package.arn,
            group=package.group,
            version=package.version,
            approval_status=package.approval_status,
            image=package.image,
            model_data_url=package.model_data_url,
            artifact_sha256=package.artifact_sha256,
            clusters=package.clusters,
            feature_dim=package.features,
            reference_url=package.reference_uri,
            reference_sha256=package.reference_sha256,
        )
    except PackageRecordError as error:
        raise ApprovalError(str(error)) from error


def recorded(context_file: Path, group: str) -> RecordedPackage | None:
    """What the context file records for `group` now (None when nothing)."""
    value = read_context(context_file).get(context_key(group))
    return None if value is None else RecordedPackage.from_context(value, str(context_file))


def read_context(context_file: Path) -> dict[str, Any]:
    if not context_file.exists():
        return {}
    try:
        loaded = json.loads(context_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ApprovalError(f"{context_file}: not readable JSON ({error})") from error
    if not isinstance(loaded, dict):
        raise ApprovalError(f"{context_file}: expected a JSON object of context values")
    return loaded


def record(context_file: Path, group: str, package: RecordedPackage) -> None:
    """Write the record beside the file's other values, all or nothing (a temporary file, then a rename)."""
    context = read_context(context_file) | {context_key(group): package.to_context()}
    descriptor, temporary = tempfile.mkstemp(dir=context_file.parent or Path("."), suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(json.dumps(context, indent=2, sort_keys=True) + "\n")
        os.replace(temporary, context_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
