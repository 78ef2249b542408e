"""The model artifact as an S3 asset, with the build manifest's facts."""

from __future__ import annotations

from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.settings import Settings


class ModelArtifact(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        manifest = settings.manifest()
        self.sha256: str = manifest["artifact_sha256"]
        self.clusters: int = manifest["clusters"]
        self.feature_dim: int = manifest["feature_dim"]
        self.asset = s3_assets.Asset(self, "Asset", path=str(settings.artifact_path))
        self.model_data_url = self.asset.s3_object_url
        self.object_arn = self.asset.bucket.arn_for_objects(self.asset.s3_object_key)
