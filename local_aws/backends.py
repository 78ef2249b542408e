"""The one way to reach moto's state: each service's backend, and SageMaker resources by name in any case.

moto keys regional backends by account and region and global ones (IAM, STS, S3) by account and partition;
only this module knows which is which.
"""

from __future__ import annotations

from typing import Any

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend, applicationautoscaling_backends
from moto.cloudformation.models import CloudFormationBackend, cloudformation_backends
from moto.cloudwatch.models import CloudWatchBackend, cloudwatch_backends
from moto.events.models import EventsBackend, events_backends
from moto.iam.models import IAMBackend, iam_backends
from moto.kms.models import KmsBackend, kms_backends
from moto.logs.models import LogsBackend, logs_backends
from moto.s3.models import S3Backend, s3_backends
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from moto.scheduler.models import EventBridgeSchedulerBackend, scheduler_backends
from moto.sns.models import SNSBackend, sns_backends
from moto.sqs.models import SQSBackend, sqs_backends
from moto.sts.models import STSBackend, sts_backends
from moto.utilities.utils import get_partition

from local_aws.config import ACCOUNT_ID, REGION

SAGEMAKER_COLLECTIONS = {"model": "_models", "endpoint-config": "endpoint_configs", "endpoint": "endpoints"}


def sagemaker(account_id: str = ACCOUNT_ID, region: str = REGION) -> SageMakerModelBackend:
    return sagemaker_backends[account_id][region]


def cloudformation(account_id: str = ACCOUNT_ID, region: str = REGION) -> CloudFormationBackend:
    return cloudformation_backends[account_id][region]


def cloudwatch(account_id: str = ACCOUNT_ID, region: str = REGION) -> CloudWatchBackend:
    return cloudwatch_backends[account_id][region]


def autoscaling(account_id: str = ACCOUNT_ID, region: str = REGION) -> ApplicationAutoscalingBackend:
    return applicationautoscaling_backends[account_id][region]


def logs(account_id: str = ACCOUNT_ID, region: str = REGION) -> LogsBackend:
    return logs_backends[account_id][region]


def iam(account_id: str = ACCOUNT_ID, region: str = REGION) -> IAMBackend:
    return iam_backends[account_id][get_partition(region)]


def sts(account_id: str = ACCOUNT_ID, region: str = REGION) -> STSBackend:
    return sts_backends[account_id][get_partition(region)]


def kms(account_id: str = ACCOUNT_ID, region: str = REGION) -> KmsBackend:
    return kms_backends[account_id][region]


def s3(account_id: str = ACCOUNT_ID, region: str = REGION) -> S3Backend:
    return s3_backends[account_id][get_partition(region)]


def events(account_id: str = ACCOUNT_ID, region: str = REGION) -> EventsBackend:
    return events_backends[account_id][region]


def sqs(account_id: str = ACCOUNT_ID, region: str = REGION) -> SQSBackend:
    return sqs_backends[account_id][region]


def scheduler(account_id: str = ACCOUNT_ID, region: str = REGION) -> EventBridgeSchedulerBackend:
    return scheduler_backends[account_id][region]


def sns(account_id: str = ACCOUNT_ID, region: str = REGION) -> SNSBackend:
    return sns_backends[account_id][region]


def sagemaker_collection(backend: SageMakerModelBackend, kind: str) -> dict[str, Any]:
    """Models, endpoint configs or endpoints (`kind` as in their ARNs), by their stored names."""
    collection: dict[str, Any] = getattr(backend, SAGEMAKER_COLLECTIONS[kind])
    return collection


def stored_name(collection: dict[str, Any], name: str) -> str | None:
    """The name a resource is stored under, matched in any case: SageMaker names are case-insensitive and
    its ARNs carry them in lower case."""
    if name in collection:
        return name
    return next((stored for stored in collection if stored.lower() == name.lower()), None)


def find_sagemaker(backend: SageMakerModelBackend, kind: str, name: str) -> Any:
    """The model, endpoint config or endpoint named `name` in any case, or None."""
    collection = sagemaker_collection(backend, kind)
    found = stored_name(collection, name)
    return None if found is None else collection[found]


def served_container(model: Any) -> dict[str, Any]:
    """What a Model's primary container runs: as declared, or, for a container that names a `ModelPackageName`
    (kept so: DescribeModel shows the name, not the package's image and artifact), the package's container."""
    container: dict[str, Any] = model.primary_container
    name = container.get("ModelPackageName")
    if not name or "ModelDataUrl" in container:
        return container
    _, _, _, region, account, _ = model.arn.split(":", 5)
    backend = sagemaker(account, region)
    arn = backend.model_package_name_mapping.get(name, name)
    package = backend.model_packages.get(arn) or backend.model_packages.get(arn.lower())
    if package is None:
        return container
    runs: dict[str, Any] = package.inference_specification["Containers"][0]
    return {**container, "Image": runs["Image"], "ModelDataUrl": runs["ModelDataUrl"]}
