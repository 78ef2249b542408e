"""A batch transform of the stack's Model: upload local input, CreateTransformJob, wait, summarise.

Everything here is the ordinary SageMaker API (boto3), so the same command runs against AWS or the
local AWS; a user could do the same with the AWS CLI. The one place a transform job is submitted and
polled: `python -m scoring`, the verifier's `--batch` and the transform benchmark all come here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from aws_facts.payloads import TRANSFORM_DEFAULT_PAYLOAD_MB
from scoring.errors import ScoringError
from wire.media_types import CSV, SPLIT_TYPE_FOR

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
POLL_S = 1.0
JOB_PREFIX = "kmeans-transform"


@dataclass(frozen=True)
class TransformRequest:
    model_name: str
    input_uri: str
    output_uri: str
    content_type: str
    accept: str
    split_type: str
    max_payload_mb: int = TRANSFORM_DEFAULT_PAYLOAD_MB
    instances: int = 1
    instance_type: str = "ml.m5.large"
    input_filter: str | None = None
    join_input: bool = False
    output_filter: str | None = None
    compression: str = "None"
    output_kms_key: str | None = None  # TransformOutput.KmsKeyId: without it, the account's default S3 key

    @classmethod
    def of_csv(
        cls, model_name: str, input_uri: str, output_uri: str, output_kms_key: str | None = None
    ) -> TransformRequest:
        """CSV in, CSV out, split by line, on one instance: the simplest job over exact rows."""
        return cls(
            model_name, input_uri, output_uri, content_type=CSV, accept=CSV, split_type=SPLIT_TYPE_FOR[CSV],
            output_kms_key=output_kms_key,
        )  # fmt: skip

    def api_arguments(self, job_name: str) -> dict[str, Any]:
        """CreateTransformJob's arguments, as they would be written by hand."""
        arguments: dict[str, Any] = {
            "TransformJobName": job_name,
            "ModelName": self.model_name,
            "MaxPayloadInMB": self.max_payload_mb,
            "BatchStrategy": "MultiRecord",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": self.input_uri}},
                "ContentType": self.content_type,
                "SplitType": self.split_type,
                "CompressionType": self.compression,
            },
            "TransformOutput": {"S3OutputPath": self.output_uri, "Accept": self.accept, "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": self.instance_type, "InstanceCount": self.instances},
        }
        processing = {
            key: value
            for key, value in (
                ("InputFilter", self.input_filter),
                ("JoinSource", "Input" if self.join_input else None),
                ("OutputFilter", self.output_filter),
            )
            if value
        }
        if processing:
            arguments["DataProcessing"] = processing
        if self.output_kms_key:
            arguments["TransformOutput"]["KmsKeyId"] = self.output_kms_key
        return arguments


def job_name(prefix: str = JOB_PREFIX) -> str:
    """A unique, sortable job name: `<prefix>-<UTC date>-<time>-<6 hex>`."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def upload_inputs(s3: Any, local: Path, bucket: str, prefix: str) -> str:
    """A file or every file of a folder under s3://bucket/prefix/; the S3 prefix to transform."""
    files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
    if not files:
        raise ScoringError(f"--input {local}: no files to transform")
    base = local if local.is_dir() else local.parent
    for path in files:
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(base).as_posix()}")
    return f"s3://{bucket}/{prefix}/"


def start(sagemaker: Any, request: TransformRequest, name: str) -> None:
    try:
        sagemaker.create_transform_job(**request.api_arguments(name))
    except ClientError as error:
        details = error.response.get("Error", {})
        raise ScoringError(f"CreateTransformJob refused: {details.get('Code')}: {details.get('Message')}") from error


def poll(
    sagemaker: Any,
    name: str,
    timeout_s: float,
    *,
    on_status: Callable[[str], None] = lambda status: None,
    poll_s: float = POLL_S,
) -> dict[str, Any]:
    """DescribeTransformJob until the job ends or `timeout_s` passes: the last description, ended or not."""
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = sagemaker.describe_transform_job(TransformJobName=name)
        on_status(described["TransformJobStatus"])
        if described["TransformJobStatus"] in TERMINAL or time.monotonic() > deadline:
            return described
        time.sleep(poll_s)


def wait(sagemaker: Any, name: str, progress: Any, timeout_s: float) -> dict[str, Any]:
    """Poll until the job ends (ScoringError after `timeout_s`); `progress` shows the status as it changes."""

    def show(status: str) -> None:
        progress.set_postfix_str(status)
        progress.update(0)

    described = poll(sagemaker, name, timeout_s, on_status=show)
    status = described["TransformJobStatus"]
    if status not in TERMINAL:
        raise ScoringError(f"transform job {name} is still {status} after --timeout {timeout_s:g} s")
    return described


@dataclass(frozen=True)
class Summary:
    rows: int
    cluster_sizes: dict[int, int]
    objects: list[str]


def summarise(s3: Any, output_uri: str, accept: str, cluster_field: int | None) -> Summary:
    """Count rows and cluster sizes by reading the .out objects (streamed, line by line)."""
    bucket, _, prefix = output_uri.removeprefix("s3://").partition("/")
    sizes: Counter[int] = Counter()
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            objects.append(f"s3://{bucket}/{item['Key']}")
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
            for line in body.iter_lines():
                if line.strip():
                    sizes[_cluster(line, accept, cluster_field)] += 1
    return Summary(rows=sum(sizes.values()), cluster_sizes=dict(sorted(sizes.items())), objects=objects)


def _cluster(line: bytes, accept: str, cluster_field: int | None) -> int:
    if accept == CSV:
        fields = line.split(b",")
        return int(float(fields[cluster_field if cluster_field is not None else 0]))
    record = json.loads(line)
    answer = record.get("SageMakerOutput", record) if isinstance(record, dict) else record
    return int(answer["closest_cluster"])
