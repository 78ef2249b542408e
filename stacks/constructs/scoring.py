"""Batch scoring's bucket: transform and async-inference input, output and failures, under one key.

SageMaker reads `input/` and writes `output/` and `failures/` as the Model's execution role; the grants
are exactly those prefixes (`ScoringAccess`), nothing wider.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contract.verifier import INPUT_PREFIX, OUTPUT_PREFIX
from stacks.constructs.buckets import LoggedBucket

FAILURES_PREFIX = "failures"
# Where an asynchronous endpoint writes its answers and failures: inside the granted prefixes.
ASYNC_OUTPUT_KEY, ASYNC_FAILURE_KEY = f"{OUTPUT_PREFIX}/async", f"{FAILURES_PREFIX}/async"


@dataclass(frozen=True)
class ScoringAccess:
    """What the execution role may do in the scoring bucket: list it, read inputs, write outputs and failures."""

    bucket_arn: str
    input_objects_arn: str
    written_objects_arns: tuple[str, str]


class ScoringBucket(Construct):
    """Exposes `bucket_name`, `access` and `s3_uri(prefix)`; a bucket brought by name is used, not created."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, bucket_name: str | None) -> None:
        super().__init__(scope, construct_id)
        bucket: s3.IBucket
        if bucket_name is None:
            bucket = LoggedBucket(
                self,
                "Store",
                key=key,
                log_prefix="scoring-bucket/",
                removal_policy=RemovalPolicy.DESTROY,
                replication_reason="Scored data stays in the endpoint's region; replicating it is a data-residency "
                "decision for its owner, not a default.",
            ).bucket
        else:
            bucket = s3.Bucket.from_bucket_name(self, "Brought", bucket_name)  # yours: neither created nor emptied
        self.bucket_name = bucket.bucket_name
        self.async_output_uri = bucket.s3_url_for_object(ASYNC_OUTPUT_KEY)
        self.async_failure_uri = bucket.s3_url_for_object(ASYNC_FAILURE_KEY)
        self.access = ScoringAccess(
            bucket_arn=bucket.bucket_arn,
            input_objects_arn=bucket.arn_for_objects(f"{INPUT_PREFIX}/*"),
            written_objects_arns=(
                bucket.arn_for_objects(f"{OUTPUT_PREFIX}/*"),
                bucket.arn_for_objects(f"{FAILURES_PREFIX}/*"),
            ),
        )
