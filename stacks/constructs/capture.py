"""Data capture destination: an encrypted, TLS-only, access-logged bucket."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.constructs.buckets import LoggedBucket
from stacks.constructs.endpoint import CaptureTarget

CAPTURE_PREFIX = "capture"


class CaptureBucket(Construct):
    """Exposes `target` (for the EndpointConfig) and `objects_arn` (what the execution role may write)."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, sampling_percent: int) -> None:
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
        self.target = CaptureTarget(stored.bucket.s3_url_for_object(CAPTURE_PREFIX), sampling_percent)
        self.objects_arn = stored.bucket.arn_for_objects(f"{CAPTURE_PREFIX}/*")
        self.bucket = stored.bucket  # the drift monitor reads the capture and writes its reports here
