"""A SageMaker k-means training job: CreateTrainingJob, wait (StopTrainingJob on Ctrl-C), fetch the artifact.

The ordinary SageMaker API through boto3, so the same code trains on AWS or on the local AWS. The job runs
as the stack's training role, reads the stack's training bucket and writes the model under it, encrypted
with the stack's key (see stacks/constructs/training.py and the README's "Train on SageMaker").
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from botocore.exceptions import ClientError

from aws_facts.instance_types import has_local_storage
from aws_facts.kmeans_training import TRAIN_CHANNEL
from contract.training import JOB_PREFIX
from model_build import ndarray
from model_build.errors import BuildError
from model_build.packaging import unpack_model
from model_build.validation import as_centroids

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
POLL_S = 2.0
# StopTrainingJob gives the algorithm 120 s after SIGTERM before the job ends (API StoppingCondition); then
# the job still has to wind down: wait longer than that before saying it has not stopped.
STOP_WAIT_S = 300.0
DEFAULT_MAX_RUNTIME_S = 86_400  # API StoppingCondition.MaxRuntimeInSeconds: "The default value is 1 day."
MAX_RUNTIME_S = 28 * 86_400  # "The maximum value is 28 days." (the same page; botocore models only the minimum)
DEFAULT_VOLUME_GB = 30


@dataclass(frozen=True)
class Channel:
    """One input channel: where its objects are and what they hold."""

    name: str
    uri: str
    content_type: str

    def api_argument(self) -> dict[str, Any]:
        # The k-means guide's advice: shard the training data across instances, give each the whole test set.
        distribution = "ShardedByS3Key" if self.name == TRAIN_CHANNEL else "FullyReplicated"
        return {
            "ChannelName": self.name,
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": self.uri, "S3DataDistributionType": distribution}
            },
            "ContentType": self.content_type,
            "CompressionType": "None",
        }


@dataclass(frozen=True)
class TrainingRequest:
    """Everything CreateTrainingJob is given."""

    image: str
    role_arn: str
    output_uri: str
    key_arn: str
    hyperparameters: dict[str, str]
    channels: list[Channel]
    instance_type: str
    instance_count: int
    max_runtime_s: int = DEFAULT_MAX_RUNTIME_S
    volume_gb: int = DEFAULT_VOLUME_GB
    tags: dict[str, str] = field(default_factory=dict)

    def api_arguments(self, name: str) -> dict[str, Any]:
        """CreateTrainingJob's arguments, as they would be written by hand.

        No VolumeKmsKeyId on an instance type with local storage: AWS refuses one there (API ResourceConfig,
        VolumeKmsKeyId: "You can't request a VolumeKmsKeyId when using an instance type with local storage").
        """
        resources: dict[str, Any] = {
            "InstanceType": self.instance_type,
            "InstanceCount": self.instance_count,
            "VolumeSizeInGB": self.volume_gb,
        }
        if not has_local_storage(self.instance_type):
            resources["VolumeKmsKeyId"] = self.key_arn
        return {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": self.image, "TrainingInputMode": "File"},
            "RoleArn": self.role_arn,
            "HyperParameters": dict(self.hyperparameters),
            "InputDataConfig": [channel.api_argument() for channel in self.channels],
            "OutputDataConfig": {"S3OutputPath": self.output_uri.rstrip("/"), "KmsKeyId": self.key_arn},
            "ResourceConfig": resources,
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_runtime_s},
        }


def job_name(prefix: str = JOB_PREFIX) -> str:
    """A unique, sortable job name: `<prefix>-<UTC date>-<time>-<6 hex>` (at most 63 characters)."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"


def start(sagemaker: Any, request: TrainingRequest, name: str) -> str:
    """CreateTrainingJob; the job's ARN. AWS's refusal becomes one line."""
    try:
        created: dict[str, Any] = sagemaker.create_training_job(**request.api_arguments(name))
    except ClientError as error:
        raise BuildError(f"CreateTrainingJob refused: {_aws_says(error)}") from error
    return str(created["TrainingJobArn"])


def _aws_says(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code')}: {details.get('Message')}"


class Progress:
    """One line that follows the job: status, secondary status, elapsed; a new line when the status moves."""

    def __init__(self, name: str, stream: Any = None) -> None:
        self.name = name
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.last: tuple[str, str] | None = None
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())

    def show(self, described: dict[str, Any]) -> None:
        state = (described["TrainingJobStatus"], described.get("SecondaryStatus", "-"))
        elapsed = time.monotonic() - self.started
        line = f"training job {self.name}: {state[0]} / {state[1]}, {elapsed:.0f} s"
        if self.terminal:
            self.stream.write(f"\r{line}\033[K" + ("\n" if state[0] in TERMINAL else ""))
        elif state != self.last:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last = state


def wait(
    sagemaker: Any,
    name: str,
    progress: Progress,
    *,
    poll_s: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """DescribeTrainingJob until the job ends; on Ctrl-C, StopTrainingJob, wait for it to stop, then BuildError."""
    poll_s, sleep = POLL_S if poll_s is None else poll_s, sleep or time.sleep
    try:
        while True:
            described: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
            progress.show(described)
            if described["TrainingJobStatus"] in TERMINAL:
                return described
            sleep(poll_s)
    except KeyboardInterrupt:
        status = stop(sagemaker, name, progress, poll_s=poll_s, sleep=sleep)
        raise BuildError(f"interrupted: {stopped_says(name, status)}; nothing was written") from None


def stopped_says(name: str, status: str) -> str:
    """What became of a job the CLI asked to stop, as its last status says (never "stopped" while Stopping)."""
    if status == "Stopped":
        return f"stopped training job {name} (StopTrainingJob)"
    if status in TERMINAL:
        return f"training job {name} had already ended ({status}) when it was asked to stop"
    return (
        f"asked training job {name} to stop (StopTrainingJob); it is still {status} after {STOP_WAIT_S:.0f} s "
        "(DescribeTrainingJob to follow it)"
    )


def stop(
    sagemaker: Any,
    name: str,
    progress: Progress,
    *,
    poll_s: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> str:
    """StopTrainingJob and wait (bounded) until the job is no longer running; its last status."""
    poll_s, sleep = POLL_S if poll_s is None else poll_s, sleep or time.sleep
    print(f"stopping training job {name} (StopTrainingJob)...", file=progress.stream)
    try:
        sagemaker.stop_training_job(TrainingJobName=name)
    except ClientError as error:  # it may have ended meanwhile: then there is nothing left to stop
        if error.response.get("Error", {}).get("Code") != "ValidationException":
            raise BuildError(f"StopTrainingJob {name} failed: {_aws_says(error)}") from error
    deadline = time.monotonic() + STOP_WAIT_S
    while True:
        described = sagemaker.describe_training_job(TrainingJobName=name)
        progress.show(described)
        status: str = described["TrainingJobStatus"]
        if status in TERMINAL or time.monotonic() >= deadline:
            return status
        sleep(poll_s)


def final_metrics(described: dict[str, Any]) -> dict[str, float]:
    """`test:msd`, `test:ssd`... as the job reported them last (FinalMetricDataList)."""
    return {metric["MetricName"]: float(metric["Value"]) for metric in described.get("FinalMetricDataList", [])}


def outcome(described: dict[str, Any]) -> None:
    """BuildError unless the job Completed, with its FailureReason in one line."""
    status = described["TrainingJobStatus"]
    if status == "Completed":
        return
    reason = " ".join(str(described.get("FailureReason") or "no FailureReason given").split())
    raise BuildError(f"training job {described['TrainingJobName']} {status}: {reason}")


def download_artifact(s3: Any, uri: str) -> bytes:
    """The job's model.tar.gz, byte for byte."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise BuildError(f"{uri}: cannot download the job's model ({_aws_says(error)})") from error
    return body


def centroids_of(artifact: bytes, where: str, clusters: int, feature_dim: int) -> npt.NDArray[np.float32]:
    """The (clusters, feature_dim) float32 centroids of a job's model.tar.gz, checked as the container loads it."""
    arrays = ndarray.decode(unpack_model(artifact, where), f"{where}: model_algo-1")
    if len(arrays) != 1 or arrays[0].dtype != np.float32 or arrays[0].shape != (clusters, feature_dim):
        found = [f"{a.dtype} {a.shape}" for a in arrays]
        raise BuildError(f"{where}: expected one float32 ({clusters}, {feature_dim}) array, found {found}")
    return as_centroids(arrays[0], where)
