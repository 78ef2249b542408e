"""Data capture destination: an encrypted, TLS-only, access-logged bucket."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.constructs.buckets import LoggedBucket

CAPTURE_PREFIX = "capture"


class CaptureBucket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stored = LoggedBucket(
            self,
            "Store",
            key=key,
            log_prefix="capture-bucket/",
            removal_policy=RemovalPolicy.DESTROY,
            replication_reason="Captured inference data and its access logs stay in the endpoint's region; copying "
            "them to another region is a data-residency decision for the owner, not a default.",
        )
        self.bucket, self.access_logs = stored.bucket, stored.access_logs
        self.destination_uri = self.bucket.s3_url_for_object(CAPTURE_PREFIX)
        self.objects_arn = self.bucket.arn_for_objects(f"{CAPTURE_PREFIX}/*")
