"""Data capture destination: an encrypted, TLS-only, access-logged bucket."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.checkov import skip_check

CAPTURE_PREFIX = "capture"


class CaptureBucket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        # Access logs cannot be delivered to a KMS-encrypted bucket, hence S3-managed keys here.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        skip_check(
            self.access_logs,
            "CKV_AWS_18",
            "This bucket is the access-log target; logging its own access would loop back into itself.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="capture-bucket/",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.destination_uri = self.bucket.s3_url_for_object(CAPTURE_PREFIX)
        self.objects_arn = self.bucket.arn_for_objects(f"{CAPTURE_PREFIX}/*")
