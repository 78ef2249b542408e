"""A KMS-encrypted, versioned, TLS-only bucket with its own access-log bucket."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.checkov import skip_check
from stacks.nag import NIST, acknowledge


class LoggedBucket(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        log_prefix: str,
        removal_policy: RemovalPolicy,
        replication_reason: str,
    ) -> None:
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
            removal_policy=removal_policy,
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
            server_access_logs_prefix=log_prefix,
            removal_policy=removal_policy,
        )
        self._explain(replication_reason)

    def _explain(self, replication_reason: str) -> None:
        skip_check(
            self.access_logs,
            "CKV_AWS_18",
            "This bucket is the access-log target; logging its own access would loop back into itself.",
        )
        acknowledge(
            self.access_logs,
            f"{NIST}-S3DefaultEncryptionKMS",
            "S3 server access logs cannot be delivered to a bucket whose default encryption is SSE-KMS; SSE-S3 is "
            "the supported choice for the log target bucket.",
        )
        for bucket in (self.bucket, self.access_logs):
            acknowledge(bucket, f"{NIST}-S3BucketReplicationEnabled", replication_reason)
