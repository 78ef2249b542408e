"""The training job type: what CreateTrainingJob adds to the job engine (local_aws.jobs), for built-in k-means.

The image must be the region's k-means image (`aws_facts.kmeans_image`, the table the stack uses): the local AWS
runs no other container, so any other image (or an AlgorithmName) fails the job, as a training image SageMaker
cannot run does. The execution role must be allowed to pull it (ECR), to read every input object (the engine), to
write the model (`s3:PutObject`), `kms:GenerateDataKey` and `kms:Encrypt` on OutputDataConfig.KmsKeyId (else the
account's aws/s3 key, which needs neither; API OutputDataConfig) and `kms:CreateGrant` on
ResourceConfig.VolumeKmsKeyId, asked with `kms:GrantIsForAWSResource` true (developer guide "How to use SageMaker
AI execution roles", CreateTrainingJob permissions; KMS "Controlling access to grants"). Channels `train`
(required) and `test`, each dealt by its S3DataDistributionType (FullyReplicated when absent, API S3DataSource);
one worker process per instance (`algo-1`...). Only a Completed job's model is published. DescribeTrainingJob shows
the lifecycle with SecondaryStatusTransitions, TrainingStartTime (the start of Downloading) and TrainingEndTime,
Training- and BillableTimeInSeconds (wall-clock seconds, no spot savings), and FinalMetricDataList: the k-means
metric definitions (`test:msd`, `test:ssd`) applied to the instances' log lines, as SageMaker parses a job's logs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from aws_facts.kmeans_image import KMEANS_ACCOUNTS, KMEANS_REPOSITORY, image_uri
from contract.execution_role import ENCRYPT_OBJECTS, GET_REGISTRY_TOKEN, PULL_IMAGE
from local_aws.config import REGION
from local_aws.jobs import channels as job_channels
from local_aws.jobs import delivery
from local_aws.jobs.channels import AWS_MANAGED_S3_KEY, FULLY_REPLICATED, S3_PREFIX, Channel, S3Object, kms_key_arn
from local_aws.jobs.engine import Run, Worker, instance_folder
from local_aws.jobs.instance import LOG_FILE
from local_aws.jobs.lifecycle import (
    COMPLETED,
    DOWNLOADING,
    STARTING,
    TERMINAL,
    UPLOADING,
    JobFailedError,
    Snapshot,
    now,
)
from local_aws.jobs.logs import TRAINING_JOBS
from local_aws.rules import enforced
from local_aws.training import hyperparameters
from local_aws.training.readers import content_type_error
from local_aws.training.worker import PIPE, TEST, TRAIN, TrainingShare, TrainingSpec, train_instance
from wire.media_types import CSV, PROTOBUF, media_type

CHANNELS = (TRAIN, TEST)
WRITE_MODEL = "s3:PutObject"
CREATE_VOLUME_GRANT = "kms:CreateGrant"
ENCRYPT_WITH_OUTPUT_KEY = "kms:Encrypt"
# SageMaker, not the role's own code, creates the volume's grant: KMS sets kms:GrantIsForAWSResource (KMS
# developer guide, "Controlling access to grants").
FOR_AWS_RESOURCE = {"kms:GrantIsForAWSResource": "true"}
# What SageMaker reports for built-in k-means (the SDK's documentation of metric definitions shows these regexes).
METRIC_DEFINITIONS = (
    {"Name": "test:msd", "Regex": r"#quality_metric: host=\S+, test msd <loss>=(\S+)"},
    {"Name": "test:ssd", "Regex": r"#quality_metric: host=\S+, test ssd <loss>=(\S+)"},
)


def kmeans_image(region: str = REGION) -> str:
    """The region's built-in k-means image, as the SDK's `image_uris.retrieve("kmeans", region)` names it."""
    return image_uri(region)


class TrainingJobType:
    """One CreateTrainingJob on moto's record (`FakeTrainingJob`)."""

    log_group = TRAINING_JOBS
    # SecondaryStatusTransitions' StatusMessage as real training jobs show them (DescribeTrainingJob responses
    # and the SDK's logs quoted in public notebooks; API SecondaryStatusTransition lists the Starting/Training ones).
    status_messages: ClassVar[Mapping[str, str]] = {
        STARTING: "Preparing the instances for training",
        DOWNLOADING: "Downloading input data",
        "Training": "Training image download completed. Training in progress.",
        UPLOADING: "Uploading generated training model",
        COMPLETED: "Training job completed",
    }
    working_status = "Training"
    keeps_partial_outputs = False

    def __init__(self, record: Any) -> None:
        self.record = record
        self._folder: Path | None = None  # the run's folder, known once prepared: the instances' logs are there

    @property
    def name(self) -> str:
        return str(self.record.training_job_name)

    @property
    def worker(self) -> Worker:
        return train_instance

    def host(self, index: int) -> str:
        return f"algo-{index + 1}"

    def prepare(self, run: Run) -> TrainingSpec:
        self._folder = run.folder
        self._check_image(run)
        given = dict(self.record.hyper_parameters or {})
        if not enforced("training-hyperparameters"):
            given = {name: value for name, value in given.items() if name in hyperparameters.KNOWN}
        params = hyperparameters.parse(given)
        content_types = self._check_channels()
        bucket, prefix = job_channels.split_s3_uri(self.record.output_data_config["S3OutputPath"])
        key = "/".join(part for part in (prefix.strip("/"), self.name, "output", "model.tar.gz") if part)
        volume_key = (self.record.resource_config or {}).get("VolumeKmsKeyId")
        if volume_key and enforced("training-execution-role"):
            run.authorize_key(CREATE_VOLUME_GRANT, volume_key, FOR_AWS_RESOURCE)
        mode = self.record.algorithm_specification.get("TrainingInputMode") or "File"
        self._check_pipe_csv(mode)
        return TrainingSpec(self.name, params, content_types, bucket, key, self._output_key(run), mode)

    def channels(self) -> list[Channel]:
        listed = []
        for channel in self.record.input_data_config:
            source = channel["DataSource"]["S3DataSource"]
            distribution = source.get("S3DataDistributionType") or FULLY_REPLICATED
            listed.append(
                Channel(channel["ChannelName"], source["S3Uri"], source.get("S3DataType") or S3_PREFIX, distribution)
            )
        return listed

    def plan(self, spec: TrainingSpec, inputs: dict[Channel, list[S3Object]], run: Run) -> list[TrainingShare]:
        """One share per instance; the role must be allowed to write the model first."""
        if enforced("training-execution-role"):
            run.authorize(WRITE_MODEL, f"arn:aws:s3:::{spec.output_bucket}/{spec.output_key}")
            if spec.output_kms_key_id is not None:
                run.authorize_key(ENCRYPT_OBJECTS, spec.output_kms_key_id)
                # API OutputDataConfig.KmsKeyId: "the SageMaker execution role must include permissions to call
                # kms:Encrypt" for a key ID or alias; asked for every form of a named key (the worse case).
                run.authorize_key(ENCRYPT_WITH_OUTPUT_KEY, spec.output_kms_key_id)
        count = int(self.record.resource_config["InstanceCount"])
        per_instance = job_channels.shares(inputs, count)
        peers = tuple(str(instance_folder(run, index)) for index in range(count))
        leader, *others = per_instance
        # Only algo-1 scores the test channel: the others need not download it.
        shares = [TrainingShare(leader, peers)] + [
            TrainingShare({name: objects for name, objects in share.items() if name != TEST}) for share in others
        ]
        folders = [instance_folder(run, index) for index in range(count)]
        if spec.input_mode == PIPE:  # streamed through each epoch's FIFO while the instances read
            epochs = {TRAIN: spec.params.epochs, TEST: 1}
            delivery.feed_pipes([share.objects for share in shares], folders, epochs, run)
        else:  # File (and FastFile, read as File): on the volumes before the algorithm starts
            delivery.deliver([share.objects for share in shares], folders, run.stop_file)
        return shares

    def render(self, state: Snapshot) -> None:
        job = self.record
        job.training_job_status = state.status
        job.secondary_status = state.secondary_status
        job.secondary_status_transitions = [transition.response() for transition in state.transitions]
        job.last_modified_time = now()
        started = next((t.start_time for t in state.transitions if t.status == DOWNLOADING), None)
        job.training_start_time = started
        job.training_end_time = None
        job.failure_reason = None
        if state.status not in TERMINAL:
            return
        job.training_end_time = state.end_time
        job.failure_reason = state.failure_reason or None
        if started is not None and state.end_time is not None:
            seconds = max(1, math.ceil((state.end_time - started).total_seconds()))
            job.training_time_in_seconds = job.billable_time_in_seconds = seconds
        job.final_metric_data_list = self._final_metrics(state)

    def _check_image(self, run: Run) -> None:
        specification = self.record.algorithm_specification
        image = specification.get("TrainingImage") or ""
        expected = kmeans_image()
        if image != expected and enforced("training-image"):
            what = f"image {image}" if image else f"algorithm {specification.get('AlgorithmName')}"
            raise JobFailedError(
                f"ClientError: the local AWS runs SageMaker's built-in k-means image of {REGION} ({expected}) "
                f"and no other; it cannot run {what}"
            )
        if enforced("training-execution-role"):
            for action in GET_REGISTRY_TOKEN.used:
                run.authorize(action, "*")
            account = KMEANS_ACCOUNTS[REGION]
            for action in PULL_IMAGE.used:
                run.authorize(action, f"arn:aws:ecr:{REGION}:{account}:repository/{KMEANS_REPOSITORY}")

    def _check_channels(self) -> dict[str, str]:
        """Each channel's ContentType; the algorithm takes `train` (required) and `test`, CSV or RecordIO."""
        given = {channel["ChannelName"]: channel.get("ContentType") or "" for channel in self.record.input_data_config}
        extra = sorted(set(given) - set(CHANNELS))
        if extra or TRAIN not in given:
            problem = f"{extra[0]!r} was unexpected" if extra else "'train' is a required channel"
            raise JobFailedError(
                "ClientError: Unable to initialize the algorithm. Failed to validate input data configuration. "
                f"(caused by ValidationError) Caused by: {problem}"
            )
        for channel, content_type in given.items():
            refusal = content_type_error(content_type)
            if refusal:
                raise JobFailedError(f"ClientError: channel {channel}: {refusal} (caused by ValidationError)")
        return given

    def _check_pipe_csv(self, mode: str) -> None:
        """k-means "can be trained in File or Pipe mode when using recordIO-wrapped protobuf, but only in File mode
        for the CSV format" (developer guide "K-Means Algorithm", input/output interface)."""
        if not enforced("training-pipe-csv"):
            return
        for channel in self.record.input_data_config:
            channel_mode = channel.get("InputMode") or mode
            content_type = channel.get("ContentType") or ""
            if channel_mode == "Pipe" and media_type(content_type) == CSV:
                raise JobFailedError(
                    f"ClientError: channel {channel['ChannelName']}: the k-means algorithm reads {CSV} in File mode "
                    f"only, not in Pipe mode; use File mode or {PROTOBUF} (caused by ValidationError)"
                )

    def _output_key(self, run: Run) -> str | None:
        given = self.record.output_data_config.get("KmsKeyId")
        return kms_key_arn(run.s3_endpoint, given) if given else AWS_MANAGED_S3_KEY

    def _final_metrics(self, state: Snapshot) -> list[dict[str, Any]]:
        """The last value each metric definition finds in the instances' logs, as SageMaker parses them."""
        if self._folder is None:
            return []
        lines = [
            json.loads(line)
            for log in sorted(self._folder.glob(f"instance-*/{LOG_FILE}"))
            for line in log.read_text(encoding="utf-8").splitlines()
            if line
        ]
        found: dict[str, dict[str, Any]] = {}
        for definition in METRIC_DEFINITIONS:
            for line in lines:
                match = re.search(definition["Regex"], line["message"])
                if match:
                    value = float(match.group(1))
                    found[definition["Name"]] = {
                        "MetricName": definition["Name"],
                        "Value": value,
                        "Timestamp": state.end_time,
                    }
        return list(found.values())
