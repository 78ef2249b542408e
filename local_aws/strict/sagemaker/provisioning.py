"""What SageMaker checks while it provisions an endpoint's fleet, and the FailureReason it gives.

On AWS the endpoint is created (or updated) first and goes `Failed` when its instances cannot start the
container: the execution role cannot pull the image, read the artifact or write logs, or the container does
not answer its ping because it cannot load the model (sagemaker-python-sdk#787, deep-learning-containers#569;
developer guide "Deployment guardrails: auto-rollback" for cloudwatch:DescribeAlarms).
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from contract.execution_role import (
    GET_REGISTRY_TOKEN,
    PULL_IMAGE,
    READ_MODEL_ARTIFACT,
    READ_ROLLBACK_ALARMS,
    WRITE_ENDPOINT_LOGS,
)
from local_aws import backends
from local_aws.config import ACCOUNT_ID, REGION
from local_aws.kmeans import KMeansPredictor
from local_aws.rules import enforced
from local_aws.strict.iam import service_roles
from model_build.errors import BuildError

ECR_REGISTRY = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
Check = Callable[["Fleet", dict[str, Any], Any], str | None]


@dataclass(frozen=True)
class Fleet:
    """One endpoint create or update: the endpoint, and the alarms its rollback watches (updates only)."""

    endpoint_name: str
    rollback_alarms: tuple[str, ...]


def failure_reason(fleet: Fleet, variants: list[dict[str, Any]], models: dict[str, Any]) -> str | None:
    """Why the fleet would not come up, or None; the first problem found, as SageMaker reports one."""
    for variant in variants:
        model = models[variant["ModelName"]]
        for check in CHECKS:
            reason = check(fleet, variant, model)
            if reason is not None:
                return reason
    return None


def role_may(model: Any, action: str, resource: str, context: Mapping[str, str] | None = None) -> str | None:
    """None when the model's execution role may do `action` on `resource` (with condition keys `context`); a job's
    calls are asked the same way (the job engine's RoleCheck: keys reached through S3 as S3 asks for them)."""
    return service_roles.role_may(model.execution_role_arn, action, resource, context)


def _artifact_location(model: Any) -> tuple[str, str, str]:
    url = backends.served_container(model)["ModelDataUrl"]
    location = urlparse(url)
    return url, location.netloc, location.path.lstrip("/")


def _check_image_pull(fleet: Fleet, variant: dict[str, Any], model: Any) -> str | None:
    if not enforced("execution-role-image"):
        return None
    image = backends.served_container(model)["Image"]
    registry, _, repository = image.partition("/")
    found = ECR_REGISTRY.match(registry)
    if found is None:
        return f"The image {image} of model {model.model_name} is not in an Amazon ECR registry."
    name = repository.split(":")[0].split("@")[0]
    repository_arn = f"arn:aws:ecr:{found['region']}:{found['account']}:repository/{name}"
    needed = [(action, "*") for action in GET_REGISTRY_TOKEN.used]
    for action, resource in needed + [(action, repository_arn) for action in PULL_IMAGE.used]:
        denial = role_may(model, action, resource)
        if denial:
            return f"The execution role for model {model.model_name} cannot pull image {image}: {denial}"
    return None


def _check_artifact_read(fleet: Fleet, variant: dict[str, Any], model: Any) -> str | None:
    if not enforced("execution-role-artifact"):
        return None
    url, bucket, key = _artifact_location(model)
    if all(role_may(model, action, f"arn:aws:s3:::{bucket}/{key}") is None for action in READ_MODEL_ARTIFACT.used):
        return None
    return (
        f'Could not access model data at {url}. Please ensure that the role "{model.execution_role_arn}" exists '
        'and that its trust relationship policy allows the action "sts:AssumeRole" for the service principal '
        '"sagemaker.amazonaws.com". Also ensure that the role has "s3:GetObject" permissions and that the object '
        f"is located in {REGION}."
    )


def _check_logs(fleet: Fleet, variant: dict[str, Any], model: Any) -> str | None:
    if not enforced("execution-role-logs"):
        return None
    group = f"/aws/sagemaker/Endpoints/{fleet.endpoint_name}"
    # CloudWatch Logs authorizes both actions on the stream's ARN, so `log-group:NAME:*` covers them.
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}:log-stream:{variant['VariantName']}/i-0"
    for action in WRITE_ENDPOINT_LOGS.used:
        denial = role_may(model, action, stream)
        if denial:
            return f"The execution role for model {model.model_name} cannot write the endpoint's logs: {denial}"
    return None


def _check_rollback_alarms(fleet: Fleet, variant: dict[str, Any], model: Any) -> str | None:
    if not enforced("execution-role-alarms"):
        return None
    for alarm in fleet.rollback_alarms:
        for action in READ_ROLLBACK_ALARMS.used:
            denial = role_may(model, action, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{alarm}")
            if denial:
                return f"Unable to describe the auto-rollback alarms of the deployment: {denial}"
    return None


def _check_model_loads(fleet: Fleet, variant: dict[str, Any], model: Any) -> str | None:
    if not enforced("model-health-check"):
        return None
    url, bucket, key = _artifact_location(model)
    try:
        stored = backends.s3().get_object(bucket, key)
    except Exception:  # moto raises one kind for a missing bucket, another for a missing key
        stored = None
    if stored is None:
        return f"Could not find model data at {url}."
    body = stored.value
    if not _is_tar_gz(body):
        return (
            f'Failed to extract model data archive from URL "{url}". Please ensure that the object located at '
            "the URL is a valid tar.gz archive."
        )
    try:
        KMeansPredictor.from_artifact(body, url)
    except BuildError:
        return (
            f"The primary container for production variant {variant['VariantName']} did not pass the ping health "
            "check. Please check CloudWatch logs for this endpoint."
        )
    return None


def _is_tar_gz(body: bytes) -> bool:
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body)), mode="r:"):
            return True
    except (OSError, EOFError, tarfile.TarError):
        return False


CHECKS: tuple[Check, ...] = (
    _check_image_pull,
    _check_artifact_read,
    _check_logs,
    _check_rollback_alarms,
    _check_model_loads,
)
