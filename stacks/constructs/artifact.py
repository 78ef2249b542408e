"""The model artifact as an S3 asset, with the build manifest's facts."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from contract.model_package import RecordedPackage
from model_build.manifest import BuiltModel


class ModelArtifact(Construct):
    model_package_arn: str | None = None  # a local build is served by its artifact, not through a package

    def __init__(self, scope: Construct, construct_id: str, *, build: BuiltModel) -> None:
        super().__init__(scope, construct_id)
        self.sha256 = build.artifact_sha256
        asset = s3_assets.Asset(self, "Asset", path=str(build.artifact_path))
        self.model_data_url = asset.s3_object_url
        self.object_arn = asset.bucket.arn_for_objects(asset.s3_object_key)


class RegisteredArtifact(Construct):
    """An approved model package's artifact, from the resolve step's record: the Model names the package, the
    role reads exactly its ModelDataUrl object."""

    def __init__(self, scope: Construct, construct_id: str, *, package: RecordedPackage) -> None:
        super().__init__(scope, construct_id)
        self.sha256 = package.artifact_sha256
        self.model_data_url = package.model_data_url
        self.model_package_arn = package.arn
        self.object_arn = Stack.of(self).format_arn(
            service="s3", region="", account="", resource=package.artifact_bucket, resource_name=package.artifact_key
        )
