"""The model artifact as an S3 asset, with the build manifest's facts."""

from __future__ import annotations

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from model_build.manifest import BuiltModel


class ModelArtifact(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, build: BuiltModel) -> None:
        super().__init__(scope, construct_id)
        self.sha256 = build.artifact_sha256
        asset = s3_assets.Asset(self, "Asset", path=str(build.artifact_path))
        self.model_data_url = asset.s3_object_url
        self.object_arn = asset.bucket.arn_for_objects(asset.s3_object_key)
