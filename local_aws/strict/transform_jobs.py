"""CreateTransformJob that runs: moto stores transform jobs as metadata, `Completed` at once; here they work.

A job is validated as the API does (ValidationException), then handed to the job engine (local_aws.jobs)
as a transform job (local_aws.transform.job): `InProgress`, the execution role's S3 rights checked, one
worker process per instance over its share of the objects, as SageMaker distributes objects across
instances. The job ends `Completed`, `Failed` (with a FailureReason in AWS's words where they are
documented) or, after StopTransformJob, `Stopping` then `Stopped`.

Sources: API CreateTransformJob, TransformInput, TransformOutput, TransformResources, DataProcessing,
StopTransformJob; developer guide "Batch transform" and "Associate prediction results with input".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeTransformJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from aws_facts.payloads import TRANSFORM_DEFAULT_PAYLOAD_MB as DEFAULT_PAYLOAD_MB
from aws_facts.payloads import TRANSFORM_MAX_PAYLOAD_MB as MAX_PAYLOAD_MB
from local_aws.jobs import engine
from local_aws.jobs.logs import TRANSFORM_JOBS
from local_aws.rules import enforced
from local_aws.strict import originals
from local_aws.strict.sagemaker.provisioning import role_may
from local_aws.transform.job import TransformJobType
from local_aws.transform.jsonpath import JsonPathError, parse
from wire.media_types import CSV
from wire.media_types import TRANSFORM_JOINABLE as JOINABLE


def check_transform_job(request: dict[str, Any], model_exists: bool) -> None:
    """What CreateTransformJob refuses before it starts; raises ValidationError."""
    if not model_exists:
        raise ValidationError(message=f'Could not find model "{request["ModelName"]}".')
    _check_joinable(request)
    _check_filterable(request)
    if not enforced("transform-job-limits"):
        return
    payload = request.get("MaxPayloadInMB")
    payload = DEFAULT_PAYLOAD_MB if payload is None else payload
    concurrent = request.get("MaxConcurrentTransforms") or 1
    if not 1 <= payload <= MAX_PAYLOAD_MB:
        raise ValidationError(message=f"MaxPayloadInMB {payload} is outside 1..100 (built-in algorithms need >= 1).")
    if payload * concurrent > MAX_PAYLOAD_MB:
        raise ValidationError(
            message=f"MaxConcurrentTransforms ({concurrent}) x MaxPayloadInMB ({payload}) must not exceed 100."
        )
    processing = request.get("DataProcessing") or {}
    for key in ("InputFilter", "OutputFilter"):
        if processing.get(key):
            try:
                parse(processing[key])
            except JsonPathError as error:
                raise ValidationError(message=f"DataProcessing.{key}: {error}") from error
    content_type = request["TransformInput"].get("ContentType", "")
    accept = request["TransformOutput"].get("Accept", "")
    if processing.get("JoinSource") == "Input" and _family(content_type) != _family(accept):
        raise ValidationError(
            message=f"JoinSource Input needs the same format in and out; got {content_type} in, {accept} out."
        )


def _check_joinable(request: dict[str, Any]) -> None:
    """AWS joins CSV and JSON records only; its refusal's words are not documented: ValidationException."""
    content_type = request["TransformInput"].get("ContentType", "")
    joined = (request.get("DataProcessing") or {}).get("JoinSource") == "Input"
    if joined and content_type not in JOINABLE and enforced("transform-join-formats"):
        raise ValidationError(
            message=f"JoinSource Input is supported for CSV and JSON input only, not {content_type or 'no'} input."
        )


def _check_filterable(request: dict[str, Any]) -> None:
    """InputFilter and OutputFilter select within CSV and JSON records only: with DataProcessing "the format you
    choose must be supported for both input and output", ContentType and Accept one of text/csv,
    application/json, application/jsonlines (developer guide "Associate prediction results with input records").
    AWS's words for the refusal are not documented: ValidationException, ours saying what is allowed."""
    content_type = request["TransformInput"].get("ContentType", "")
    processing = request.get("DataProcessing") or {}
    filters = [key for key in ("InputFilter", "OutputFilter") if processing.get(key)]
    if filters and content_type not in JOINABLE and enforced("transform-filter-formats"):
        raise ValidationError(
            message=f"DataProcessing {' and '.join(filters)} select within CSV and JSON records only, not "
            f"{content_type or 'no'} input."
        )


def _family(media_type: str) -> str:
    return "csv" if media_type == CSV else "json"


def create_transform_job(self: SageMakerModelBackend, **kwargs: Any) -> FakeTransformJob:
    request = {
        "ModelName": kwargs["model_name"],
        "MaxPayloadInMB": kwargs.get("max_payload_in_mb"),
        "MaxConcurrentTransforms": kwargs.get("max_concurrent_transforms"),
        "DataProcessing": kwargs.get("data_processing"),
        "TransformInput": kwargs["transform_input"],
        "TransformOutput": kwargs["transform_output"],
    }
    check_transform_job(request, kwargs["model_name"] in self._models)
    create = originals.original(SageMakerModelBackend, "create_transform_job")
    job: FakeTransformJob = create(self, **kwargs)
    job.max_payload_in_mb = kwargs.get("max_payload_in_mb") or DEFAULT_PAYLOAD_MB
    job.batch_strategy = kwargs.get("batch_strategy") or "MultiRecord"
    model = self._models[job.model_name]
    engine.start(
        TransformJobType(job, model), lambda action, resource, context: _role_may(model, action, resource, context)
    )
    return job


def _role_may(model: Any, action: str, resource: str, context: Mapping[str, str]) -> str | None:
    return role_may(model, action, resource, context) if enforced("transform-execution-role") else None


def stop_transform_job_response(self: SageMakerResponse) -> Any:
    name = self._get_param("TransformJobName")
    job = self.sagemaker_backend.transform_jobs.get(name)
    if job is None:
        raise ValidationError(message=f"Could not find transform job '{name}'.")
    engine.request_stop(TRANSFORM_JOBS, name)
    return EmptyResult()
