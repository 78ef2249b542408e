"""What a registry-deployed endpoint must answer: the model package's reference set, read from the registry and S3
and checked against the sha256 the package records, so no local build is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract.stack import Output, describe_stack
from model_build.manifest import BuiltModel
from model_build.reference import ReferenceSet
from verification.errors import ExitCode, VerificationError
from verification.target import Expected, checked_expected

PACKAGE_ARN_PREFIX = "arn:"


def is_package_arn(text: str) -> bool:
    return text.startswith(PACKAGE_ARN_PREFIX)


def load_package(clients: dict[str, Any], arn: str) -> Expected:
    """The package's facts and reference rows; a missing package or a reference set whose bytes are not the ones it
    records stops the run (exit 3: what is deployed cannot be verified)."""
    from registry.packages import RegistryError, describe, read_reference

    try:
        package = describe(clients["sagemaker"], arn)
        data = read_reference(clients["s3"], package)
    except RegistryError as error:
        raise VerificationError(str(error), ExitCode.NOT_READY) from error
    build = BuiltModel(
        build_dir=Path(package.reference_uri),
        clusters=package.clusters,
        feature_dim=package.features,
        artifact_sha256=package.artifact_sha256,
        manifest={"model_package_arn": package.arn},
    )
    try:
        reference = ReferenceSet.from_npz_bytes(data)
    except (OSError, ValueError, KeyError) as error:
        raise VerificationError(
            f"reference set {package.reference_uri}: unreadable ({error})", ExitCode.USAGE
        ) from error
    return checked_expected(build, reference, package.reference_uri)


def served_package(clients: dict[str, Any], stack_name: str) -> str | None:
    """The package a registry-deployed stack serves (its ModelPackageArn output); None for a stack built locally, or
    when the stack cannot be read (the stack check then says why)."""
    try:
        return describe_stack(stack_name, clients["cloudformation"]).outputs.get(Output.MODEL_PACKAGE_ARN)
    except ClientError:
        return None
