"""The transform job type: what CreateTransformJob adds to the job engine (local_aws.jobs).

One channel (`TransformInput.DataSource.S3DataSource`), its objects dealt to the instances by key (developer
guide "Batch transform": SageMaker "partitions the Amazon S3 objects in the input by key and maps Amazon S3
objects to instances"); an instance with no object is not started. Every object's output,
`<S3OutputPath>/<key below the input prefix>.out`, must be writable by the execution role before any work,
and written SSE-KMS with `TransformOutput.KmsKeyId`, which the role must allow `kms:GenerateDataKey` on.
The output of each object that succeeded is kept even when another fails or the job is stopped (API
TransformOutput: "uploads only the output for successfully processed objects"). DescribeTransformJob shows
TransformJobStatus and FailureReason, no secondary status.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from aws_facts.payloads import MB
from contract.execution_role import ENCRYPT_OBJECTS, WRITE_SCORING_RESULTS
from local_aws import backends
from local_aws.jobs.channels import (
    AWS_MANAGED_S3_KEY,
    SHARDED_BY_S3_KEY,
    Channel,
    S3Object,
    deal,
    kms_key_arn,
    relative_key,
    split_s3_uri,
)
from local_aws.jobs.engine import Run, Worker
from local_aws.jobs.lifecycle import TERMINAL, Snapshot
from local_aws.jobs.logs import TRANSFORM_JOBS
from local_aws.rules import enforced
from local_aws.transform.engine import InputObject, JobSpec, TransformFailedError, output_key, run_instance
from wire.media_types import JSONLINES
from wire.media_types import TRANSFORM_ACCEPTS as ACCEPTS
from wire.media_types import TRANSFORM_CONTENT_TYPES as CONTENT_TYPES


class TransformJobType:
    """One CreateTransformJob on moto's record (`FakeTransformJob`), with the model it names."""

    log_group = TRANSFORM_JOBS
    working_status = "Transforming"
    keeps_partial_outputs = True

    def __init__(self, record: Any, model: Any) -> None:
        self.record = record
        self.model = model

    @property
    def name(self) -> str:
        return str(self.record.transform_job_name)

    @property
    def worker(self) -> Worker:
        return run_instance

    def host(self, index: int) -> str:
        """An EC2-like instance id, as transform jobs name their log streams."""
        return "i-" + hashlib.sha256(f"{self.name}/{index}".encode()).hexdigest()[:17]

    def prepare(self, run: Run) -> JobSpec:
        job = self.record
        output_bucket, output_prefix = split_s3_uri(job.transform_output["S3OutputPath"])
        processing = job.data_processing or {}
        transform_input = self._transform_input()
        content_type = transform_input.get("ContentType", "")
        if content_type not in CONTENT_TYPES:
            raise TransformFailedError(
                f"ClientError: the k-means container does not accept {content_type or 'no'} input"
            )
        accept = job.transform_output.get("Accept") or JSONLINES
        if accept not in ACCEPTS:
            raise TransformFailedError(f"ClientError: the k-means container cannot answer in {accept}")
        return JobSpec(
            name=job.transform_job_name,
            model_data_url=backends.served_container(self.model)["ModelDataUrl"],
            content_type=content_type,
            split_type=transform_input.get("SplitType") or "None",
            compression=transform_input.get("CompressionType") or "None",
            batch_strategy=job.batch_strategy,
            max_payload_bytes=int(job.max_payload_in_mb) * MB,
            accept=accept,
            assemble_with=job.transform_output.get("AssembleWith") or "None",
            input_filter=processing.get("InputFilter"),
            join_input=processing.get("JoinSource") == "Input",
            output_filter=processing.get("OutputFilter"),
            output_bucket=output_bucket,
            output_prefix=output_prefix,
            output_kms_key_id=self._output_key(run),
            stop_file=str(run.stop_file),
            s3_endpoint=run.s3_endpoint,
        )

    def channels(self) -> list[Channel]:
        source: dict[str, Any] = self._transform_input()["DataSource"]["S3DataSource"]
        return [Channel("input", source["S3Uri"], source.get("S3DataType") or "S3Prefix", SHARDED_BY_S3_KEY)]

    def plan(self, spec: JobSpec, inputs: dict[Channel, list[S3Object]], run: Run) -> list[list[InputObject]]:
        """Each instance's objects; the role must be allowed to write every object's output first."""
        ((channel, objects),) = inputs.items()
        _, prefix = split_s3_uri(channel.s3_uri)
        items = [InputObject(item.bucket, item.key, relative_key(prefix, item.key)) for item in objects]
        for item, action in itertools.product(items, WRITE_SCORING_RESULTS.used):
            run.authorize(action, f"arn:aws:s3:::{spec.output_bucket}/{output_key(spec, item)}")
        if spec.output_kms_key_id is not None:
            run.authorize_key(ENCRYPT_OBJECTS, spec.output_kms_key_id)
        count = int(self.record.transform_resources.get("InstanceCount", 1))
        return [share for share in deal(items, count, channel.distribution) if share]

    def render(self, state: Snapshot) -> None:
        job = self.record
        job.transform_job_status = state.status
        if state.status in TERMINAL:
            job.failure_reason = state.failure_reason
            job.transform_end_time = job.last_modified_time = state.end_time

    def _output_key(self, run: Run) -> str | None:
        """The key outputs are written with: KmsKeyId's ARN, or the account's AWS managed S3 key (API
        TransformOutput: "If you don't provide a KMS key ID, Amazon SageMaker uses the default KMS key for
        Amazon S3 for your role's account"); None, the bucket's default, with `transform-output-kms` relaxed."""
        if not enforced("transform-output-kms"):
            return None
        given = self.record.transform_output.get("KmsKeyId")
        return kms_key_arn(run.s3_endpoint, given) if given else AWS_MANAGED_S3_KEY

    def _transform_input(self) -> dict[str, Any]:
        return dict(self.record.transform_input)
