"""Each instance's log stream in CloudWatch Logs, written straight into moto's logs backend.

Log groups and stream names as SageMaker names them (developer guide "CloudWatch Logs for Amazon SageMaker
AI"): `/aws/sagemaker/TransformJobs` `[transform-job-name]/[instance-id]-[epoch_timestamp]`,
`/aws/sagemaker/TrainingJobs` `[training-job-name]/algo-[instance-number-in-cluster]-[epoch_timestamp]`,
`/aws/sagemaker/ProcessingJobs` `[processing-job-name]/[hostname]-[epoch_timestamp]`: one rule,
`<job name>/<host>-<epoch seconds>`, the host being what each type calls its instances.

SageMaker writes them as the job's execution role, which needs `logs:CreateLogStream` and `logs:PutLogEvents`
(and `logs:CreateLogGroup` while the group does not exist; developer guide "How to use SageMaker AI execution
roles", the Create*Job API permissions): without them the job runs, unlogged.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_aws.config import ACCOUNT_ID, REGION
from local_aws.jobs.instance import LOG_FILE

TRANSFORM_JOBS = "/aws/sagemaker/TransformJobs"
TRAINING_JOBS = "/aws/sagemaker/TrainingJobs"
PROCESSING_JOBS = "/aws/sagemaker/ProcessingJobs"
LOG_GROUPS = (TRANSFORM_JOBS, TRAINING_JOBS, PROCESSING_JOBS)
_LOCK = threading.Lock()  # moto's log streams append without a lock of their own


def stream_name(job_name: str, host: str, started: float) -> str:
    return f"{job_name}/{host}-{int(started)}"


def group_arn(group: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}"


def group_request_arn(group: str) -> str:
    """The resource CloudWatch Logs authorizes a group-level action on (CreateLogGroup, DescribeLogStreams):
    `log-group:NAME:log-stream:`, as AWS's AccessDenied messages name it. A policy must name the group with
    its trailing `:*` (or a wildcard) to cover it; the bare group ARN applies only to TagResource,
    UntagResource and ListTagsForResource (CloudWatch Logs API LogGroup.arn / logGroupArn; "CloudWatch Logs
    resources and operations")."""
    return f"{group_arn(group)}:log-stream:"


def stream_arn(group: str, stream: str) -> str:
    return f"{group_arn(group)}:log-stream:{stream}"


def group_exists(group: str) -> bool:
    with _LOCK:
        return group in _backend().groups


def _backend() -> Any:
    from local_aws import backends  # moto, imported only where the engine runs (never in a worker)

    return backends.logs()


def put_lines(group: str, stream: str, events: list[tuple[int, str]]) -> None:
    """Append (timestamp in ms, message) events to the stream, creating its group and stream if need be."""
    if group not in LOG_GROUPS:
        raise ValueError(f"{group} is not a SageMaker job log group: {LOG_GROUPS}")
    with _LOCK:
        backend = _backend()
        if group not in backend.groups:
            backend.create_log_group(group, {})
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        if events:
            ordered = sorted(events, key=lambda event: event[0])
            backend.put_log_events(group, stream, [{"timestamp": t, "message": m} for t, m in ordered])


@dataclass
class InstanceLog:
    """One instance's stream: the engine's own lines, and those its worker appends to `folder/log.jsonl`."""

    group: str
    stream: str
    folder: Path
    enabled: bool = True  # False when the job's role may not write it
    _read: int = field(default=0)

    def write(self, message: str) -> None:
        if self.enabled:
            put_lines(self.group, self.stream, [(int(time.time() * 1000), message)])

    def pump(self) -> None:
        """Copy the worker's complete new lines into the stream."""
        path = self.folder / LOG_FILE
        if not self.enabled or not path.exists():
            return
        with open(path, "rb") as log:
            log.seek(self._read)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._read += len(complete)
        lines = [json.loads(line) for line in complete.splitlines() if line]
        if lines:
            put_lines(self.group, self.stream, [(line["timestamp"], line["message"]) for line in lines])
