"""CreateTrainingJob that trains: moto stores training jobs `Completed` at once, with no model and a fixed metric.

The request has passed the front door (botocore's model: required members, enums such as TrainingInstanceType,
ranges). A job named like an existing one is refused as AWS does (ResourceInUse). The job is then handed to the
job engine as a k-means training job (local_aws.training.job): `InProgress`, its execution role's rights checked
as it runs, one worker process per instance; it ends `Completed`, `Failed` with the algorithm's FailureReason, or,
after StopTrainingJob, `Stopping` then `Stopped`. Sources: API CreateTrainingJob, DescribeTrainingJob,
StopTrainingJob; developer guide "K-Means Algorithm" and "K-Means Hyperparameters".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeTrainingJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from local_aws.jobs import engine
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
    create = originals.original(SageMakerModelBackend, "create_training_job")
    job: FakeTrainingJob = create(self, **kwargs)
    job.algorithm_specification["MetricDefinitions"] = [dict(definition) for definition in METRIC_DEFINITIONS]
    job.final_metric_data_list = []
    role = job.role_arn
    engine.start(TrainingJobType(job), lambda action, resource, context: _role_may(role, action, resource, context))
    return job


def _role_may(role_arn: str, action: str, resource: str, context: Mapping[str, str]) -> str | None:
    """None when SageMaker, acting as the job's role, may do `action` on `resource`."""
    if not enforced("training-execution-role"):
        return None
    return service_roles.role_may(role_arn, action, resource, context)


def stop_training_job_response(self: SageMakerResponse) -> Any:
    name = self._get_param("TrainingJobName")
    if name not in self.sagemaker_backend.training_jobs:
        raise ValidationError(message="Requested resource not found.")
    engine.request_stop(TRAINING_JOBS, name)
    return EmptyResult()
