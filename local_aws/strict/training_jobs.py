"""CreateTrainingJob that trains: moto stores training jobs `Completed` at once, with no model and a fixed metric.

The request has passed the front door (botocore's model: required members, enums such as TrainingInstanceType,
ranges). A job named like an existing one is refused as AWS does (ResourceInUse). The job is then handed to the
job engine as a k-means training job (local_aws.training.job): `InProgress`, its execution role's rights checked
as it runs, one worker process per instance; it ends `Completed`, `Failed` with the algorithm's FailureReason, or,
after StopTrainingJob, `Stopping` then `Stopped`. Sources: API CreateTrainingJob, DescribeTrainingJob,
StopTrainingJob; developer guide "K-Means Algorithm" and "K-Means Hyperparameters".

Refused at the call itself, as AWS refuses them (ValidationException): a VolumeKmsKeyId with an instance type
that has local storage (API ResourceConfig.VolumeKmsKeyId); an `S3Prefix` channel with no object under it, in a
bucket that does not exist, or that the role may not `s3:ListBucket` (AWS's words, seen in real CreateTrainingJob
errors: kedro-org/kedro-plugins and terraform-provider-aws quote them); StopTrainingJob on a job already in a
terminal status (AWS's words in awslabs/benchmark-ai#928).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.responses import EmptyResult
from moto.s3.exceptions import MissingBucket
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeTrainingJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from aws_facts.instance_types import has_local_storage
from local_aws import backends
from local_aws.config import REGION
from local_aws.jobs import engine
from local_aws.jobs.channels import S3_PREFIX, split_s3_uri
from local_aws.jobs.lifecycle import TERMINAL
from local_aws.jobs.logs import TRAINING_JOBS
from local_aws.rules import enforced
from local_aws.strict import originals
from local_aws.strict.iam import service_roles, trust
from local_aws.training.job import METRIC_DEFINITIONS, TrainingJobType


def create_training_job(self: SageMakerModelBackend, **kwargs: Any) -> FakeTrainingJob:
    name = kwargs["training_job_name"]
    existing = self.training_jobs.get(name)
    if existing is not None:
        raise ResourceInUseException(
            message="Training job names must be unique within an AWS account and region, and a training job "
            f"with this name already exists ({existing.arn})"
        )
    if not trust.service_may_assume(
        kwargs["role_arn"], trust.SAGEMAKER_PRINCIPAL, {"aws:SourceAccount": self.account_id}
    ):
        raise ValidationError(message=trust.cannot_assume(kwargs["role_arn"]))
    _check_volume_key(kwargs.get("resource_config") or {})
    _check_inputs(kwargs["role_arn"], kwargs.get("input_data_config") or [])
    create = originals.original(SageMakerModelBackend, "create_training_job")
    job: FakeTrainingJob = create(self, **kwargs)
    job.algorithm_specification["MetricDefinitions"] = [dict(definition) for definition in METRIC_DEFINITIONS]
    job.final_metric_data_list = []
    role = job.role_arn
    engine.start(TrainingJobType(job), lambda action, resource, context: _role_may(role, action, resource, context))
    return job


def _check_volume_key(resources: Mapping[str, Any]) -> None:
    instance_type = str(resources.get("InstanceType") or "")
    if enforced("kms-local-storage") and resources.get("VolumeKmsKeyId") and has_local_storage(instance_type):
        raise ValidationError(
            message=f"You can't request a VolumeKmsKeyId when using an instance type with local storage "
            f"({instance_type}): its storage volumes are encrypted by a hardware module on the instance."
        )


def _check_inputs(role_arn: str, channels: list[dict[str, Any]]) -> None:
    """Each S3Prefix channel names a bucket of this region with objects under the prefix the role may list."""
    if not enforced("training-input-listed"):
        return
    for channel in channels:
        source = channel.get("DataSource", {}).get("S3DataSource")
        if not source or (source.get("S3DataType") or S3_PREFIX) != S3_PREFIX:
            continue
        uri = str(source["S3Uri"])
        bucket, prefix = split_s3_uri(uri)
        listable = service_roles.role_may(role_arn, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix})
        if listable is not None or not _has_objects(bucket, prefix):
            raise ValidationError(
                message=f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that '
                f"the bucket exists in the selected region ({REGION}), that objects exist under that S3 prefix, "
                f'and that the role "{role_arn}" has "s3:ListBucket" permissions on bucket "{bucket}".'
            )


def _has_objects(bucket: str, prefix: str) -> bool:
    try:
        found = backends.s3().get_bucket(bucket)
    except MissingBucket:
        return False
    return any(str(key).startswith(prefix) and not str(key).endswith("/") for key in found.keys)


def _role_may(role_arn: str, action: str, resource: str, context: Mapping[str, str]) -> str | None:
    """None when SageMaker, acting as the job's role, may do `action` on `resource`."""
    if not enforced("training-execution-role"):
        return None
    return service_roles.role_may(role_arn, action, resource, context)


def stop_training_job_response(self: SageMakerResponse) -> Any:
    name = self._get_param("TrainingJobName")
    if name not in self.sagemaker_backend.training_jobs:
        raise ValidationError(message="Requested resource not found.")
    status = self.sagemaker_backend.training_jobs[name].training_job_status
    if status in TERMINAL and enforced("training-stop-terminal"):
        raise ValidationError(message=f"The request was rejected because the training job is in status {status}.")
    engine.request_stop(TRAINING_JOBS, name)
    return EmptyResult()
