"""CreateProcessingJob that runs: moto stores processing jobs as metadata, `Completed` at once; here they work.

A job is validated (the local AWS runs only the region's scikit-learn processing image, see
local_aws.processing.job; a name already used is `ResourceInUse`), then handed to the job engine
(local_aws.jobs) as a processing job: `InProgress`, the job role's rights checked on every input object and
output, the container's command run per instance with the role's credentials, `Completed`, `Failed` with a
FailureReason and ExitMessage, or, after StopProcessingJob, `Stopping` then `Stopped`.

Sources: API CreateProcessingJob, DescribeProcessingJob, StopProcessingJob, ProcessingS3Input,
ProcessingS3Output; developer guide "How Amazon SageMaker Processing Runs Your Processing Container Image".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeProcessingJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from local_aws import backends
from local_aws.config import ACCOUNT_ID, JOB_SESSION_NAME, REGION
from local_aws.jobs import engine
from local_aws.jobs.logs import PROCESSING_JOBS
from local_aws.processing.job import ProcessingJobType, check_image
from local_aws.rules import enforced
from local_aws.strict import originals
from local_aws.strict.iam import service_roles, trust

PROCESSING_ROOT = "/opt/ml/processing/"


def create_processing_job(self: SageMakerResponse) -> ActionResult:
    """Validate, store as moto does (with Environment and ProcessingResources, which moto drops), and run."""
    if not enforced("processing-jobs-run"):
        return originals.original(SageMakerResponse, "create_processing_job")(self)  # type: ignore[no-any-return]
    name = self._get_param("ProcessingJobName")
    if name in self.sagemaker_backend.processing_jobs:
        raise ResourceInUseException(message=f"Job name must be unique within an AWS Region in an AWS account: {name}")
    app = self._get_param("AppSpecification")
    refusal = check_image(app.get("ImageUri", "")) or _check_paths(
        self._get_param("ProcessingInputs") or [],
        (self._get_param("ProcessingOutputConfig") or {}).get("Outputs") or [],
    )
    if refusal is not None:
        raise ValidationError(message=refusal)
    role_arn = self._get_param("RoleArn")
    if not trust.service_may_assume(role_arn, trust.SAGEMAKER_PRINCIPAL, {"aws:SourceAccount": ACCOUNT_ID}):
        raise ValidationError(message=trust.cannot_assume(role_arn))
    job: Any = self.sagemaker_backend.create_processing_job(
        app_specification=app,
        experiment_config=self._get_param("ExperimentConfig"),
        network_config=self._get_param("NetworkConfig"),
        processing_inputs=self._get_param("ProcessingInputs"),
        processing_job_name=name,
        processing_output_config=self._get_param("ProcessingOutputConfig"),
        role_arn=self._get_param("RoleArn"),
        stopping_condition=self._get_param("StoppingCondition"),
        tags=self._get_param("Tags"),
    )
    job.environment = self._get_param("Environment") or None
    job.processing_resources = self._get_param("ProcessingResources")
    job.exit_message = job.failure_reason = job.processing_end_time = None
    role = job.role_arn
    engine.start(
        ProcessingJobType(job, _credentials(role)),
        lambda action, resource, context: _role_may(role, action, resource, context),
    )
    return ActionResult({"ProcessingJobArn": job.arn})


def _check_paths(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> str | None:
    """Why the inputs' and outputs' names or LocalPaths are refused: each LocalPath "must begin with
    /opt/ml/processing/" (API ProcessingS3Input.LocalPath, ProcessingS3Output.LocalPath), and names are unique."""
    if not enforced("processing-paths"):
        return None
    for kind, items, source in (("Input", inputs, "S3Input"), ("Output", outputs, "S3Output")):
        names = [str(item.get(f"{kind}Name")) for item in items]
        for name in sorted({name for name in names if names.count(name) > 1}):
            return f"Processing{kind}s must have unique {kind}Names: {name} is used more than once."
        for item in items:
            local_path = str((item.get(source) or {}).get("LocalPath") or "")
            if local_path and not local_path.startswith(PROCESSING_ROOT):
                return (
                    f"Processing{kind} {item.get(f'{kind}Name')}: LocalPath {local_path} must begin with "
                    f"{PROCESSING_ROOT}."
                )
    return None


def stop_processing_job(self: SageMakerModelBackend, processing_job_name: str) -> None:
    """StopProcessingJob: a job in progress goes `Stopping`, then `Stopped` once its instances stop."""
    if not enforced("processing-jobs-run"):
        originals.original(SageMakerModelBackend, "stop_processing_job")(self, processing_job_name)
        return
    if processing_job_name not in self.processing_jobs:
        arn = FakeProcessingJob.arn_formatter(processing_job_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find processing job '{arn}'.")
    engine.request_stop(PROCESSING_JOBS, processing_job_name)


def _credentials(role_arn: str) -> dict[str, str]:
    """What the container's environment carries: the job role's temporary credentials."""
    assumed = backends.sts().assume_role(
        region_name=REGION,
        role_session_name=JOB_SESSION_NAME,
        role_arn=role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    return {
        "AWS_ACCESS_KEY_ID": assumed.access_key_id,
        "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
        "AWS_SESSION_TOKEN": assumed.session_token,
    }


def _role_may(role_arn: str, action: str, resource: str, context: Mapping[str, str]) -> str | None:
    if not enforced("processing-job-role"):
        return None
    return service_roles.role_may(role_arn, action, resource, context, session=JOB_SESSION_NAME)
