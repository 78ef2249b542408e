"""CreateTransformJob that runs: moto stores transform jobs as metadata, `Completed` at once; here they work.

A job is validated as the API does (ValidationException), starts `InProgress`, and a background thread
checks the execution role's S3 rights, lists the input objects, and runs `InstanceCount` worker
processes (local_aws.transform.engine), each over its share of the objects, as SageMaker distributes
objects across instances. The job ends `Completed`, `Failed` (with a FailureReason in AWS's words
where they are documented) or, after StopTransformJob, `Stopping` then `Stopped`.

Sources: API CreateTransformJob, TransformInput, TransformOutput, TransformResources, DataProcessing,
StopTransformJob; developer guide "Batch transform" and "Associate prediction results with input".
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from moto.core.responses import EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeTransformJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from local_aws.config import LocalAwsConfig
from local_aws.rules import enforced
from local_aws.strict.sagemaker.provisioning import role_may
from local_aws.transform.engine import (
    InputObject,
    JobSpec,
    TransformFailedError,
    TransformStoppedError,
    run_instance,
    s3_client,
    split_s3_uri,
)
from local_aws.transform.jsonpath import JsonPathError, parse

CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/x-recordio-protobuf")
ACCEPTS = ("text/csv", "application/jsonlines")
MAX_PAYLOAD_MB = 100  # and MaxConcurrentTransforms x MaxPayloadInMB <= 100
DEFAULT_PAYLOAD_MB = 6
_RUNNING: dict[str, Path] = {}  # job name -> its stop file
_LOCK = threading.Lock()


def check_transform_job(request: dict[str, Any], model_exists: bool) -> None:
    """What CreateTransformJob refuses before it starts; raises ValidationError."""
    if not model_exists:
        raise ValidationError(message=f'Could not find model "{request["ModelName"]}".')
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


def _family(media_type: str) -> str:
    return "csv" if media_type == "text/csv" else "json"


_original_create = SageMakerModelBackend.create_transform_job


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
    job: FakeTransformJob = _original_create(self, **kwargs)
    job.transform_job_status = "InProgress"
    job.max_payload_in_mb = kwargs.get("max_payload_in_mb") or DEFAULT_PAYLOAD_MB
    job.batch_strategy = kwargs.get("batch_strategy") or "MultiRecord"
    stop_file = Path(tempfile.mkdtemp(prefix="transform-stop-")) / "stop"
    with _LOCK:
        _RUNNING[job.transform_job_name] = stop_file
    threading.Thread(target=_run, args=(job, self._models[job.model_name], stop_file), daemon=True).start()
    return job


def _run(job: FakeTransformJob, model: Any, stop_file: Path) -> None:
    try:
        spec = _spec(job, model, stop_file)
        objects = _input_objects(job, model)
        _run_instances(spec, objects, int(job.transform_resources.get("InstanceCount", 1)))
        _finish(job, "Stopped" if stop_file.exists() else "Completed")
    except TransformStoppedError:
        _finish(job, "Stopped")
    except TransformFailedError as failure:
        _finish(job, "Failed", str(failure))
    except Exception as error:  # the job must end whatever happened; AWS says InternalServerError
        _finish(job, "Failed", f"InternalServerError: {type(error).__name__}: {error}")
    finally:
        with _LOCK:
            _RUNNING.pop(job.transform_job_name, None)


def _finish(job: FakeTransformJob, status: str, reason: str = "") -> None:
    job.transform_job_status = status
    job.failure_reason = reason
    job.transform_end_time = job.last_modified_time = utcnow()


def _spec(job: FakeTransformJob, model: Any, stop_file: Path) -> JobSpec:
    output_bucket, output_prefix = split_s3_uri(job.transform_output["S3OutputPath"])
    processing = job.data_processing or {}
    transform_input = _transform_input(job)
    content_type = transform_input.get("ContentType", "")
    if content_type not in CONTENT_TYPES:
        raise TransformFailedError(f"ClientError: the k-means container does not accept {content_type or 'no'} input")
    accept = job.transform_output.get("Accept") or "application/jsonlines"
    if accept not in ACCEPTS:
        raise TransformFailedError(f"ClientError: the k-means container cannot answer in {accept}")
    return JobSpec(
        name=job.transform_job_name,
        model_data_url=model.primary_container["ModelDataUrl"],
        content_type=content_type,
        split_type=transform_input.get("SplitType") or "None",
        compression=transform_input.get("CompressionType") or "None",
        batch_strategy=job.batch_strategy,
        max_payload_bytes=int(job.max_payload_in_mb) * 1024 * 1024,
        accept=accept,
        assemble_with=job.transform_output.get("AssembleWith") or "None",
        input_filter=processing.get("InputFilter"),
        join_input=processing.get("JoinSource") == "Input",
        output_filter=processing.get("OutputFilter"),
        output_bucket=output_bucket,
        output_prefix=output_prefix,
        stop_file=str(stop_file),
        s3_endpoint=LocalAwsConfig.from_environment().control_url,
    )


def _transform_input(job: FakeTransformJob) -> dict[str, Any]:
    return dict(job.transform_input)


def _input_objects(job: FakeTransformJob, model: Any) -> list[InputObject]:
    """The objects under the prefix (or named by the manifest), each checked readable by the execution role."""
    source: dict[str, Any] = _transform_input(job)["DataSource"]["S3DataSource"]
    bucket, prefix = split_s3_uri(source["S3Uri"])
    s3 = s3_client(LocalAwsConfig.from_environment().control_url)
    if source.get("S3DataType") == "ManifestFile":
        keys = _manifest_keys(s3, bucket, prefix)
    else:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [(bucket, item["Key"]) for page in pages for item in page.get("Contents", [])]
    if not keys:
        raise TransformFailedError(f"ClientError: no objects found under {source['S3Uri']}")
    objects = [InputObject(object_bucket, key, _output_name(prefix, key)) for object_bucket, key in keys]
    output_bucket, output_prefix = split_s3_uri(job.transform_output["S3OutputPath"])
    for item in objects:
        _authorize(model, "s3:GetObject", f"arn:aws:s3:::{item.bucket}/{item.key}")
        output_key = f"{output_prefix.rstrip('/')}/{item.output_name}.out".lstrip("/")
        _authorize(model, "s3:PutObject", f"arn:aws:s3:::{output_bucket}/{output_key}")
    return objects


def _output_name(prefix: str, key: str) -> str:
    """The key below the prefix's folder: s3://b/in/ or s3://b/in hold in/a.csv -> a.csv; s3://b/in/pa -> part-1.csv."""
    folder = prefix.rstrip("/") + "/"
    if key.startswith(folder):
        return key[len(folder) :]
    return key.removeprefix(prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else "")


def _manifest_keys(s3: Any, bucket: str, key: str) -> list[tuple[str, str]]:
    """A manifest: `[{"prefix": "s3://bucket/folder/"}, "relative/key", ...]`."""
    try:
        entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        base_bucket, base_prefix = split_s3_uri(entries[0]["prefix"])
        return [(base_bucket, base_prefix + relative) for relative in entries[1:]]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise TransformFailedError(f"ClientError: s3://{bucket}/{key} is not a manifest file ({error})") from error


def _authorize(model: Any, action: str, resource: str) -> None:
    if not enforced("transform-execution-role"):
        return
    denial = role_may(model, action, resource)
    if denial is not None:
        raise TransformFailedError(
            f"ClientError: Access Denied: the execution role may not {action} {resource}: {denial}"
        )


def _run_instances(spec: JobSpec, objects: list[InputObject], instances: int) -> None:
    """One worker process per instance, objects dealt round-robin; the first failure fails the job."""
    shares = [objects[index::instances] for index in range(instances) if objects[index::instances]]
    # Spawned, not forked: forking moto's threaded server could copy a held lock into the child.
    with ProcessPoolExecutor(max_workers=len(shares), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_instance, spec, share) for share in shares]
        for future in futures:
            future.result()  # re-raises a worker's TransformFailedError here


def stop_transform_job(name: str) -> None:
    with _LOCK:
        stop_file = _RUNNING.get(name)
    if stop_file is None:
        return
    stop_file.touch()


def stop_transform_job_response(self: SageMakerResponse) -> Any:
    name = self._get_param("TransformJobName")
    job = self.sagemaker_backend.transform_jobs.get(name)
    if job is None:
        raise ValidationError(message=f"Could not find transform job '{name}'.")
    if job.transform_job_status == "InProgress":
        job.transform_job_status = "Stopping"
        stop_transform_job(name)
    return EmptyResult()
