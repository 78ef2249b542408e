"""`python -m model_build register BUILD --group NAME`, `approve ARN` and `reject ARN`: the Model Registry side.

`register` puts the build's artifact, manifest and reference set in S3 under content-addressed keys, creates the
group if it is new, and creates a model package awaiting approval (PendingManualApproval) whose metadata says what
the build is and, when the group already has an approved package, how far it agrees with it. Registering the same
artifact twice returns the package made the first time. Everything that can be refused (the build, the metadata,
the group's model type) is checked before anything is written.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from aws_facts.kmeans_image import KMEANS_ACCOUNTS, image_uri
from contract.clients import NoRegionError, aws_clients
from contract.model_package import PackageRecordError, group_name
from model_build.alignment import LoadedModel, load_model
from model_build.comparison import compare_models
from model_build.errors import BuildError
from model_build.manifest import (
    ARTIFACT_NAME,
    MANIFEST_FILE_NAME,
    REFERENCE,
    REFERENCE_FILE_NAME,
    BuiltModel,
    ManifestError,
    read_build,
    sha256_hex,
)
from model_build.reference import ReferenceSet
from registry import metadata as meta
from registry.packages import (
    APPROVED,
    PENDING,
    REJECTED,
    NoApprovedPackageError,
    NoSuchGroupError,
    Package,
    RegistryError,
    describe,
    group_exists,
    latest_approved,
    packages_of,
    read_reference,
    read_verified,
)
from registry.storage import DEFAULT_BUCKET, content_key, s3_uri
from stacks.settings import Settings, SettingsError
from stacks.stages import load_stages
from wire.media_types import REQUEST_TYPES, RESPONSE_TYPES

PROGRAM = "python -m model_build"
DECISIONS = {"approve": APPROVED, "reject": REJECTED}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROGRAM} register",
        description="Register a build as a model package (PendingManualApproval) in a SageMaker model package group.",
    )
    parser.add_argument("build", type=Path, metavar="BUILD", help="build folder (model.tar.gz, manifest, reference)")
    parser.add_argument("--group", required=True, help="model package group (created if new)")
    parser.add_argument(
        "--bucket",
        help="S3 bucket for the files (default: the CDK bootstrap bucket, cdk-hnb659fds-assets-ACCOUNT-REGION)",
    )
    parser.add_argument("--description", default="", help="the package's description")
    parser.add_argument(
        "--instance-types",
        type=_instance_types("ProductionVariantInstanceType"),
        help="real-time instance types, comma-separated (default: those the stack's settings and stages.json use)",
    )
    parser.add_argument(
        "--transform-instance-types",
        type=_instance_types("TransformInstanceType"),
        help="batch transform instance types, comma-separated (default: the real-time ones a transform may use)",
    )
    return parser


@functools.cache
def _enum(shape: str) -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_service_model("sagemaker").shape_for(shape).enum)


def _instance_types(shape: str) -> Any:
    def parse(text: str) -> list[str]:
        types = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in types if item not in _enum(shape)]
        if unknown or not types:
            raise argparse.ArgumentTypeError(f"not in botocore's {shape}: {unknown or text!r}")
        return types

    return parse


def deployed_instance_types() -> list[str]:
    """The real-time instance types the project deploys: the settings' default and every stage's."""
    try:
        stages = load_stages()
    except SettingsError as error:
        raise BuildError(f"{error} (run from the project's folder, or give --instance-types)") from error
    chosen = {Settings().instance_type} | {
        str(stage["instance_type"]) for stage in stages.values() if "instance_type" in stage
    }
    return sorted(chosen)


@dataclass(frozen=True)
class Build:
    """A build folder read back whole: its manifest, and the bytes of the three files registered."""

    built: BuiltModel
    artifact: bytes
    manifest: bytes
    reference: bytes

    @property
    def reference_sha256(self) -> str:
        return sha256_hex(self.reference)


def read_whole_build(build_dir: Path) -> Build:
    """The build, refused unless its manifest describes its artifact and its reference set."""
    try:
        built = read_build(build_dir)
        files = [(build_dir / name).read_bytes() for name in (ARTIFACT_NAME, MANIFEST_FILE_NAME, REFERENCE_FILE_NAME)]
    except ManifestError as error:
        raise BuildError(str(error)) from error
    except OSError as error:
        raise BuildError(f"{error.filename}: cannot read ({error.strerror})") from error
    build = Build(built, *files)
    recorded = built.manifest.get(REFERENCE, {}).get("sha256")
    if recorded != build.reference_sha256:
        raise BuildError(
            f"{build_dir / REFERENCE_FILE_NAME}: sha256 {build.reference_sha256[:12]}… is not the "
            f"{str(recorded)[:12]}… its manifest records; rebuild with make build"
        )
    return build


def run_register(argv: list[str]) -> int:
    """Register BUILD in --group; BuildErrors go to the caller."""
    args = build_parser().parse_args(argv)
    try:
        group_name(args.group)  # refused before anything is read or written
    except PackageRecordError as error:
        raise BuildError(str(error)) from error
    build = read_whole_build(args.build)
    clients = _clients("sagemaker", "s3", "sts")
    registrar = Registrar(clients["sagemaker"], clients["s3"], args.group, args.bucket or _default_bucket(clients))
    realtime = args.instance_types or deployed_instance_types()
    transform = args.transform_instance_types or [item for item in realtime if item in _enum("TransformInstanceType")]
    try:
        print(registrar.register(build, args.description, realtime, transform))
    except (ClientError, BotoCoreError) as error:
        raise BuildError(f"register {args.build} in {args.group}: {error}") from error
    except (RegistryError, meta.MetadataError) as error:
        raise BuildError(str(error)) from error
    return 0


@dataclass(frozen=True)
class Registrar:
    """Registers builds into one group, its files into one bucket."""

    sagemaker: Any
    s3: Any
    group: str
    bucket: str

    def register(self, build: Build, description: str, realtime: list[str], transform: list[str]) -> str:
        """Register `build` (or find it registered); the line that says which package it is."""
        existing = self.find(build.built.artifact_sha256) if group_exists(self.sagemaker, self.group) else None
        if existing is not None:
            return (
                f"already registered: {existing.arn} (version {existing.version}, {existing.approval_status}), "
                f"artifact sha256 {build.built.artifact_sha256[:12]}"
            )
        if self.region not in KMEANS_ACCOUNTS:
            raise RegistryError(f"region {self.region}: SageMaker publishes no k-means image there")
        properties = self.properties(build, self.compared(build))  # refused here: nothing written yet
        model_data_url = self.put(build.artifact, ARTIFACT_NAME)
        self.put(build.manifest, MANIFEST_FILE_NAME)
        self.put(build.reference, REFERENCE_FILE_NAME)
        if not group_exists(self.sagemaker, self.group):
            self.sagemaker.create_model_package_group(ModelPackageGroupName=self.group)
        arn = self.sagemaker.create_model_package(
            ModelPackageGroupName=self.group,
            ModelPackageDescription=description,
            InferenceSpecification=inference_specification(self.region, model_data_url, realtime, transform),
            ModelApprovalStatus=PENDING,
            CustomerMetadataProperties=properties,
        )["ModelPackageArn"]
        return f"registered {arn} ({PENDING}): {_summary(properties)}"

    @property
    def region(self) -> str:
        return str(self.sagemaker.meta.region_name)

    def find(self, artifact_sha256: str) -> Package | None:
        """The group's package of this artifact, by the sha256 in its metadata (any approval status)."""
        for arn in packages_of(self.sagemaker, self.group):
            properties = self.sagemaker.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties")
            if (properties or {}).get(meta.ARTIFACT_SHA256) == artifact_sha256:
                return describe(self.sagemaker, arn)
        return None

    def compared(self, build: Build) -> tuple[Package, LoadedModel, LoadedModel] | None:
        """The group's newest approved package and both models, when there is one; refused if another model type."""
        try:
            approved = latest_approved(self.sagemaker, self.group)
        except (NoSuchGroupError, NoApprovedPackageError):
            return None
        if approved.features != build.built.feature_dim:
            raise RegistryError(
                f"model package group {self.group}: its approved package {approved.arn} takes "
                f"{approved.features} features, {build.built.build_dir} {build.built.feature_dim}"
            )
        artifact = read_verified(self.s3, approved.model_data_url, approved.artifact_sha256, "artifact")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / ARTIFACT_NAME
            path.write_bytes(artifact)
            old = load_model(path, f"approved package {approved.arn}")
        return approved, old, load_model(build.built.build_dir, "BUILD")

    def properties(self, build: Build, compared: tuple[Package, LoadedModel, LoadedModel] | None) -> dict[str, str]:
        comparison = None
        if compared is not None:
            approved, old, new = compared
            rows = ReferenceSet.from_npz_bytes(build.reference).rows
            result = compare_models(old.centroids, new.centroids, rows)
            comparison = (approved.arn, result.agreement, result.adjusted_rand_index, result.same_solution)
        aligned = build.built.manifest.get("aligned_to")
        return meta.registration_properties(
            artifact_sha256=build.built.artifact_sha256,
            clusters=build.built.clusters,
            features=build.built.feature_dim,
            manifest_uri=s3_uri(self.bucket, content_key(sha256_hex(build.manifest), MANIFEST_FILE_NAME)),
            reference_uri=s3_uri(self.bucket, content_key(build.reference_sha256, REFERENCE_FILE_NAME)),
            reference_sha256=build.reference_sha256,
            aligned_to=aligned.get("artifact_sha256") if isinstance(aligned, dict) else None,
            comparison=comparison,
        )

    def put(self, data: bytes, name: str) -> str:
        """Upload `data` to the key its sha256 names, unless it is there already; its S3 URI."""
        key = content_key(sha256_hex(data), name)
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256")
        return s3_uri(self.bucket, key)


def inference_specification(
    region: str, model_data_url: str, realtime: list[str], transform: list[str]
) -> dict[str, Any]:
    """The container the package runs: the region's k-means image, the artifact, what it reads and answers."""
    return {
        "Containers": [{"Image": image_uri(region), "ModelDataUrl": model_data_url}],
        "SupportedContentTypes": list(REQUEST_TYPES),
        "SupportedResponseMIMETypes": list(RESPONSE_TYPES),
        "SupportedRealtimeInferenceInstanceTypes": realtime,
        "SupportedTransformInstanceTypes": transform,
    }


def _summary(properties: dict[str, str]) -> str:
    text = (
        f"{properties[meta.CLUSTERS]} clusters x {properties[meta.FEATURES]} features, artifact sha256 "
        f"{properties[meta.ARTIFACT_SHA256][:12]}, reference set {properties[meta.REFERENCE_URI]}"
    )
    if meta.COMPARED_TO in properties:
        text += (
            f"; against {properties[meta.COMPARED_TO]}: agreement {properties[meta.AGREEMENT]}, "
            f"ARI {properties[meta.ADJUSTED_RAND_INDEX]}, {properties[meta.VERDICT]}"
        )
    return text


def _clients(*services: str) -> dict[str, Any]:
    try:
        return aws_clients(services)
    except NoRegionError as error:
        raise BuildError(str(error)) from error


def _default_bucket(clients: dict[str, Any]) -> str:
    try:
        account = clients["sts"].get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as error:
        raise BuildError(f"cannot tell the account for the default bucket (give --bucket): {error}") from error
    return DEFAULT_BUCKET.format(account=account, region=clients["s3"].meta.region_name)


def run_decision(command: str, argv: list[str]) -> int:
    """`approve ARN --description TEXT` or `reject ARN --description TEXT`: UpdateModelPackage."""
    status = DECISIONS[command]
    parser = argparse.ArgumentParser(
        prog=f"{PROGRAM} {command}",
        description=f"Set a registered package's ModelApprovalStatus to {status}, with a description "
        f"(the same as `aws sagemaker update-model-package --model-approval-status {status}`).",
    )
    parser.add_argument("arn", metavar="ARN", help="the model package's ARN")
    parser.add_argument("--description", required=True, help="why (ApprovalDescription)")
    args = parser.parse_args(argv)
    clients = _clients("sagemaker", "s3")
    try:
        package = describe(clients["sagemaker"], args.arn)
        if package.approval_status == status:  # no state change: AWS documents none, nothing is sent or changed
            print(f"already {status.lower()}: {args.arn} (version {package.version}); nothing changed")
            return 0
        if status == APPROVED:  # what would be deployed must be what was registered
            read_reference(clients["s3"], package)
            read_verified(clients["s3"], package.model_data_url, package.artifact_sha256, "artifact")
        clients["sagemaker"].update_model_package(
            ModelPackageArn=args.arn, ModelApprovalStatus=status, ApprovalDescription=args.description
        )
    except RegistryError as error:
        raise BuildError(str(error)) from error
    except (ClientError, BotoCoreError) as error:
        raise BuildError(f"{command} {args.arn}: {error}") from error
    print(f"{status.lower()} {args.arn} (version {package.version}, was {package.approval_status})")
    return 0
