"""InvokeEndpointAsync: 202 at once; the answer is written to S3 later, and SNS told, as SageMaker does.

A background thread takes each accepted request: it reads `InputLocation`, asks the variant's model,
and writes the answer to `<S3OutputPath>/<InferenceId>.out` or the error to `<S3FailurePath>/
<InferenceId>-error.out`, then publishes to the config's SuccessTopic or ErrorTopic (through the
local control plane's SNS). Sources: API InvokeEndpointAsync; developer guide "Asynchronous inference"
(output naming, notification messages).

Rule `async-durable-queue`: an accepted request is never lost. Before the 202 is sent, the request is written
(atomically: a temporary file, then a rename) to one file of the spool folder under the local AWS's state folder;
the file is removed once its output or failure object is written and its notification sent. A replaced runtime
(the supervisor restarts a crashed one) answers every file left there, oldest first, with the same InferenceId
and output location: at-least-once, as AWS's queue is (API InvokeEndpointAsync: "Inference requests sent to
this API are enqueued for asynchronous processing"; RequestTTLSeconds, default 6 hours, is how long they wait).

Rule `async-instance-capacity`: at most `MaxConcurrentInvocationsPerInstance` x the variant's current instance
count requests of an endpoint are answered at once; with 0 instances (scaled to zero) they wait in the queue
until the count is raised (UpdateEndpointWeightsAndCapacities, or an autoscaling action). Sources: API
AsyncInferenceClientConfig ("The maximum number of concurrent requests sent by the SageMaker client to the model
container"); developer guide "Autoscale an asynchronous endpoint" (scale to zero: requests queue until an
instance is back). Unset, the maximum is modelled as 1 per instance (AWS lets SageMaker choose; the worse case).

Rule `async-backlog-metrics`: every METRICS_PERIOD_S the runtime puts `ApproximateBacklogSize` (requests queued
or being answered), `ApproximateBacklogSizePerInstance` (that over the current instance count; the whole backlog
with 0 instances) and `HasBacklogWithoutCapacity` (1 when requests wait and there is no instance) of each
asynchronous endpoint it has seen into the local CloudWatch (namespace AWS/SageMaker, dimension EndpointName),
as the scale-out alarm and the target-tracking policy the stack declares read them. Source: developer guide
"Alarms and logs for tracking metrics from asynchronous endpoints".

Rule `async-output-kms`: with `OutputConfig.KmsKeyId` the answers (and errors) are written SSE-KMS with that key
(API AsyncInferenceOutputConfig, KmsKeyId: "The Amazon Web Services Key Management Service (Amazon Web Services
KMS) key that SageMaker uses to encrypt the asynchronous inference output in Amazon S3").

Rule `async-execution-role`: the input is read, the answer and the failure are written and the notifications
published *as the endpoint's execution role* (see `execution_role`), so S3 and SNS check that role's grants, KMS's
through S3 included. A denied read (or an input that cannot be answered) fails the invocation: its failure object
is written and the ErrorTopic told. A denied write of the answer fails it the same way. When the failure object
cannot be written either (no s3:PutObject on S3FailurePath, or no kms:GenerateDataKey on the output key), AWS
documents only the `ResponseUploadFailures` metric and the endpoint's `data-log`: nothing is written and no
notification is sent here (the worse case: AWS does not say whether it still notifies). A denied sns:Publish loses
that notification only (`NotificationFailures`). Each failure is counted in the metrics SageMaker publishes per
endpoint and variant (`RequestDownloadFailures`, `ResponseUploadFailures`, `NotificationFailures`,
`ExpiredRequests`, `InvocationFailures`), put into the local CloudWatch every METRICS_PERIOD_S. Sources: developer
guide "Asynchronous inference: Prerequisites", "Check prediction results", "Alarms and logs for tracking metrics
from asynchronous endpoints".

Rule `async-request-ttl`: a request still queued (waiting for capacity included) longer than its
`RequestTTLSeconds` (60-21600, default 21600) is not run: it fails as expired (failure object, ErrorTopic, the
`ExpiredRequests` metric); one whose processing takes longer than `InvocationTimeoutSeconds` (1-3600, default 900)
fails as expired too, its answer not written. Sources: API InvokeEndpointAsync ("Maximum age in seconds a request
can be in the queue before it is marked as expired"; "Maximum amount of time in seconds a request can be processed
before it is marked as expired"); the metrics page above (`ExpiredRequests`: "requests in the queue that fail due
to reaching their specified request TTL"). The failure's words are not documented; ours say which limit it was.

Rule `async-backlog-metrics` publishes `ApproximateBacklogSizePerInstance` with 0 instances too (the whole
backlog): the developer guide "Autoscale an asynchronous endpoint" says that without the optional scale-from-zero
policy "your endpoint only initiates scaling up from zero after the number of backlog requests exceeds the target
tracking value", which needs that metric while there is no instance.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from local_aws.config import REGION
from local_aws.rules import enforced
from local_aws.runtime.background import BackgroundQueue
from local_aws.runtime.execution_role import RoleClients
from local_aws.runtime.resolver import Endpoint, Variant
from wire.media_types import JSON

QUEUE_LIMIT = 1024
WORKERS = 8  # requests answered at once, over all endpoints; each endpoint is bounded by its capacity
CAPACITY_POLL_S = 0.25
DURABLE_RULE = "async-durable-queue"
CAPACITY_RULE = "async-instance-capacity"
METRICS_RULE = "async-backlog-metrics"
KMS_RULE = "async-output-kms"
ROLE_RULE = "async-execution-role"
TTL_RULE = "async-request-ttl"
METRICS_PERIOD_S = 5.0  # AWS publishes per minute; the local AWS sooner, so alarms are seen to move in tests
NAMESPACE = "AWS/SageMaker"
SPOOL_FOLDER = "async-invocations"
TTL_HEADER = "X-Amzn-SageMaker-RequestTTLSeconds"
TIMEOUT_HEADER = "X-Amzn-SageMaker-InvocationTimeoutSeconds"
DEFAULT_TTL_S = 21600  # API InvokeEndpointAsync, RequestTTLSeconds: "The default is 6 hours"
DEFAULT_INVOCATION_TIMEOUT_S = 900  # InvocationTimeoutSeconds: "The default is 15 minutes"
# The per-variant metrics SageMaker publishes when an asynchronous invocation fails, and why.
DOWNLOAD_FAILED, UPLOAD_FAILED, NOTIFY_FAILED = (
    "RequestDownloadFailures",
    "ResponseUploadFailures",
    "NotificationFailures",
)
EXPIRED, FAILED = "ExpiredRequests", "InvocationFailures"
Predict = Callable[[Variant, str, str | None, bytes], tuple[bytes, str]]
Resolve = Callable[[str], Endpoint]
InstanceCount = Callable[[str, str], int]  # (endpoint, variant) -> its current instance count
AsRole = Callable[[str], RoleClients]  # an execution role's ARN -> clients acting as it
Clock = Callable[[], datetime]
LOG = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class RequestExpiredError(Exception):
    """The request outlived its RequestTTLSeconds in the queue, or its InvocationTimeoutSeconds being processed."""


@dataclass(frozen=True)
class AsyncRequest:
    endpoint: Endpoint
    variant: Variant
    inference_id: str
    input_location: str
    content_type: str
    accept: str | None
    output_location: str
    failure_location: str
    received: datetime
    spooled: Path | None = None  # its file in the spool folder, once written there
    ttl_seconds: int = DEFAULT_TTL_S
    invocation_timeout_seconds: int = DEFAULT_INVOCATION_TIMEOUT_S


_RECORDED = ("inference_id", "input_location", "content_type", "accept", "output_location", "failure_location")
_LIMITS = {"ttl_seconds": DEFAULT_TTL_S, "invocation_timeout_seconds": DEFAULT_INVOCATION_TIMEOUT_S}


def spool_record(request: AsyncRequest) -> dict[str, Any]:
    """What a replaced runtime needs to answer `request` as the one that accepted it would have."""
    record: dict[str, Any] = {name: getattr(request, name) for name in (*_RECORDED, *_LIMITS)}
    return {**record, "endpoint": request.endpoint.name, "received": request.received.isoformat()}


def spooled_request(record: dict[str, Any], endpoint: Endpoint, path: Path) -> AsyncRequest:
    fields = {name: record[name] for name in _RECORDED}
    received = datetime.fromisoformat(record["received"])
    return AsyncRequest(
        endpoint,
        endpoint.variants[0],
        **fields,
        received=received,
        spooled=path,
        ttl_seconds=int(record.get("ttl_seconds", DEFAULT_TTL_S)),  # absent from an older runtime's files
        invocation_timeout_seconds=int(record.get("invocation_timeout_seconds", DEFAULT_INVOCATION_TIMEOUT_S)),
    )


def _seconds(headers: Any, name: str, default: int) -> int:
    """A limit header as an integer (the API model has checked its range); the default when absent."""
    given = headers.get(name)
    try:
        return int(given) if given is not None else default
    except ValueError:  # only with api-model-validation relaxed
        return default


def accepted_request(endpoint: Endpoint, variant: Variant, headers: Any, config: dict[str, Any]) -> AsyncRequest | str:
    """The request to queue, or why it is refused (the API's ValidationError message)."""
    input_location = headers.get("X-Amzn-SageMaker-InputLocation")
    if not input_location or not input_location.startswith("s3://"):
        return "InputLocation must be an s3:// URI"
    inference_id = headers.get("X-Amzn-SageMaker-Inference-Id") or str(uuid.uuid4())
    output = config["OutputConfig"]
    return AsyncRequest(
        endpoint=endpoint,
        variant=variant,
        inference_id=inference_id,
        input_location=input_location,
        content_type=headers.get("X-Amzn-SageMaker-Content-Type") or "application/octet-stream",
        accept=headers.get("X-Amzn-SageMaker-Accept"),
        output_location=f"{output['S3OutputPath'].rstrip('/')}/{inference_id}.out",
        failure_location=f"{output.get('S3FailurePath', output['S3OutputPath']).rstrip('/')}/{inference_id}-error.out",
        received=_now(),
        ttl_seconds=_seconds(headers, TTL_HEADER, DEFAULT_TTL_S),
        invocation_timeout_seconds=_seconds(headers, TIMEOUT_HEADER, DEFAULT_INVOCATION_TIMEOUT_S),
    )


class AsyncInvocations:
    """A queue of accepted requests and the WORKERS threads that answer them, oldest first.

    With a `spool` folder (and rule `async-durable-queue` on), each accepted request is kept there until
    answered, and the requests a previous runtime left there are answered first (resolving their endpoints
    through `resolve`). With `as_role`, each request is answered with clients acting as its variant's execution
    role (rule `async-execution-role`); `s3` and `sns` are the runtime's own otherwise.
    """

    def __init__(
        self,
        s3: Any,
        sns: Any,
        predict: Predict,
        *,
        spool: Path | None = None,
        resolve: Resolve | None = None,
        instance_count: InstanceCount | None = None,
        cloudwatch: Any = None,
        metrics_period_s: float = METRICS_PERIOD_S,
        as_role: AsRole | None = None,
        clock: Clock = _now,
    ) -> None:
        self.s3, self.sns, self._predict = s3, sns, predict
        self.spool = spool if enforced(DURABLE_RULE) else None
        self._instance_count = instance_count if enforced(CAPACITY_RULE) else None
        self._as_role = as_role if enforced(ROLE_RULE) else None
        self._clock = clock
        self._answering: dict[str, int] = {}
        self._capacity_changed = threading.Condition()
        self._backlog: dict[str, tuple[str, int]] = {}  # endpoint -> (its variant, requests not yet answered)
        self._failures: dict[tuple[str, str], Counter[str]] = {}  # (endpoint, variant) -> failures since published
        self._queue = BackgroundQueue[AsyncRequest]("async-invocations", self._answer, QUEUE_LIMIT, WORKERS)
        if self.spool is not None:
            self.spool.mkdir(parents=True, exist_ok=True)
            if resolve is not None:
                threading.Thread(target=self._recover, args=(resolve,), name="async-recovery", daemon=True).start()
        if cloudwatch is not None and instance_count is not None and enforced(METRICS_RULE):
            publish = (cloudwatch, instance_count, metrics_period_s)
            threading.Thread(target=self._publish_forever, args=publish, name="async-metrics", daemon=True).start()

    def offer(self, request: AsyncRequest) -> bool:
        """Queue `request` (written to the spool first, so it outlives this process); False when full."""
        if self.spool is not None:
            request = replace(request, spooled=self._spool(request))
        self._count(request, 1)
        if self._queue.offer(request):
            return True
        self._count(request, -1)
        if request.spooled is not None:
            request.spooled.unlink(missing_ok=True)
        return False

    def _spool(self, request: AsyncRequest) -> Path:
        assert self.spool is not None
        path = self.spool / f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
        partial = path.with_suffix(".partial")
        with partial.open("w") as file:
            json.dump(spool_record(request), file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
        return path

    def _recover(self, resolve: Resolve) -> None:
        """Queue what a previous runtime accepted and did not answer, oldest first."""
        assert self.spool is not None
        for path in sorted(self.spool.glob("*.json")):
            try:
                record = json.loads(path.read_text())
                request = spooled_request(record, resolve(record["endpoint"]), path)
            except Exception:  # an endpoint deleted since, or a control plane not up: left for the next runtime
                LOG.exception("could not recover the queued asynchronous request %s", path.name)
                continue
            self._count(request, 1)
            self._queue.put(request)

    def drain(self) -> None:
        self._queue.drain()

    def _count(self, request: AsyncRequest, change: int) -> None:
        with self._capacity_changed:
            _, waiting = self._backlog.get(request.endpoint.name, ("", 0))
            self._backlog[request.endpoint.name] = (request.variant.name, waiting + change)

    def _count_failure(self, request: AsyncRequest, *metrics: str) -> None:
        with self._capacity_changed:
            counted = self._failures.setdefault((request.endpoint.name, request.variant.name), Counter())
            counted.update(metrics)

    def _publish_forever(self, cloudwatch: Any, instance_count: InstanceCount, period_s: float) -> None:
        while True:
            time.sleep(period_s)
            with self._capacity_changed:
                backlog = dict(self._backlog)
                failures, self._failures = self._failures, {}
            for endpoint, (variant, waiting) in backlog.items():
                try:
                    cloudwatch.put_metric_data(
                        Namespace=NAMESPACE,
                        MetricData=backlog_metrics(endpoint, waiting, instance_count(endpoint, variant)),
                    )
                except Exception:  # an endpoint deleted since: its metrics end
                    LOG.info("could not publish the backlog of %s", endpoint, exc_info=True)
                    with self._capacity_changed:
                        if self._backlog.get(endpoint, ("", 0))[1] == 0:
                            self._backlog.pop(endpoint, None)
            for (endpoint, variant), counted in failures.items():
                try:
                    cloudwatch.put_metric_data(
                        Namespace=NAMESPACE, MetricData=failure_metrics(endpoint, variant, counted)
                    )
                except Exception:
                    LOG.info("could not publish the failures of %s", endpoint, exc_info=True)

    def _answer(self, request: AsyncRequest) -> None:
        try:
            self._answer_counted(request)
        finally:
            self._count(request, -1)

    def _answer_counted(self, request: AsyncRequest) -> None:
        try:
            self._take_capacity(request)
        except ClientError as error:  # the endpoint is gone
            self._fail(request, error)
            return
        except RequestExpiredError as error:
            self._fail(request, error, EXPIRED)
            return
        try:
            self._answer_within_capacity(request)
        finally:
            with self._capacity_changed:
                self._answering[request.endpoint.name] -= 1
                self._capacity_changed.notify_all()

    def _take_capacity(self, request: AsyncRequest) -> None:
        """Wait until the endpoint answers fewer requests than its instances can take, then count this one.

        A request whose RequestTTLSeconds passes while it waits raises RequestExpiredError (rule async-request-ttl).
        """
        name = request.endpoint.name
        client = (request.endpoint.async_config or {}).get("ClientConfig") or {}
        per_instance = int(client.get("MaxConcurrentInvocationsPerInstance", 1))
        while True:
            self._check_queued_age(request)
            capacity = (
                None
                if self._instance_count is None
                else per_instance * self._instance_count(name, request.variant.name)
            )
            with self._capacity_changed:
                if capacity is None or self._answering.get(name, 0) < capacity:
                    self._answering[name] = self._answering.get(name, 0) + 1
                    return
                self._capacity_changed.wait(CAPACITY_POLL_S)

    def _check_queued_age(self, request: AsyncRequest) -> None:
        waited = (self._clock() - request.received).total_seconds()
        if enforced(TTL_RULE) and waited > request.ttl_seconds:
            raise RequestExpiredError(
                f"Request expired: it waited {waited:.0f} s in the queue, longer than its RequestTTLSeconds "
                f"({request.ttl_seconds} s)."
            )

    def _clients(self, request: AsyncRequest) -> RoleClients:
        """What the request is answered with: clients acting as its execution role, or the runtime's own."""
        role = request.variant.execution_role_arn
        if self._as_role is None or not role:
            return RoleClients(self.s3, self.sns)
        return self._as_role(role)

    def _fail(self, request: AsyncRequest, error: Exception, *reasons: str) -> None:
        """The failure object and the ErrorTopic; neither when the failure cannot be written (the worse case)."""
        self._count_failure(request, FAILED, *reasons)
        try:
            clients = self._clients(request)
            self._write(clients.s3, request, request.failure_location, str(error).encode())
        except ClientError:
            self._count_failure(request, UPLOAD_FAILED)
            LOG.warning("%s: could not write the failure of %s", request.endpoint.name, request.inference_id)
        else:
            self._notify(clients.sns, request, "ErrorTopic", "Failed", str(error))
        self._unspool(request)

    def _answer_within_capacity(self, request: AsyncRequest) -> None:
        started = self._clock()
        try:
            clients = self._clients(request)
            self._check_queued_age(request)
        except ClientError as error:  # the role cannot be assumed: nothing can be read or written as it
            self._fail(request, error)
            return
        except RequestExpiredError as error:
            self._fail(request, error, EXPIRED)
            return
        try:
            body = self._read(clients.s3, request.input_location)
        except ClientError as error:
            self._fail(request, error, DOWNLOAD_FAILED)
            return
        try:
            answer, _ = self._predict(request.variant, request.content_type, request.accept, body)
            self._check_processing_time(request, started)
        except (ValueError, RequestExpiredError) as error:
            self._fail(request, error)
            return
        try:
            self._write(clients.s3, request, request.output_location, answer)
        except ClientError as error:
            self._count_failure(request, UPLOAD_FAILED)
            self._fail(request, error)
            return
        self._notify(clients.sns, request, "SuccessTopic", "Completed", None)
        self._unspool(request)

    def _check_processing_time(self, request: AsyncRequest, started: datetime) -> None:
        took = (self._clock() - started).total_seconds()
        if enforced(TTL_RULE) and took > request.invocation_timeout_seconds:
            raise RequestExpiredError(
                f"Request expired: it was processed for {took:.1f} s, longer than its InvocationTimeoutSeconds "
                f"({request.invocation_timeout_seconds} s)."
            )

    def _unspool(self, request: AsyncRequest) -> None:
        """The request has ended: a replaced runtime must not answer it again."""
        if request.spooled is not None:
            request.spooled.unlink(missing_ok=True)

    def _read(self, s3: Any, location: str) -> bytes:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def _write(self, s3: Any, request: AsyncRequest, location: str, body: bytes) -> None:
        """Rule `async-output-kms`: with OutputConfig.KmsKeyId the object is SSE-KMS with that key."""
        bucket, _, key = location.removeprefix("s3://").partition("/")
        kms_key = ((request.endpoint.async_config or {}).get("OutputConfig") or {}).get("KmsKeyId")
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        if not enforced(KMS_RULE):
            encryption = {}
        s3.put_object(Bucket=bucket, Key=key, Body=body, **encryption)

    def _notify(self, sns: Any, request: AsyncRequest, topic_key: str, status: str, failure: str | None) -> None:
        """Publish to the config's topic; a denied publish loses this notification only (NotificationFailures)."""
        config = request.endpoint.async_config or {}
        topic = (config.get("OutputConfig", {}).get("NotificationConfig") or {}).get(topic_key)
        if not topic:
            return
        try:
            sns.publish(TopicArn=topic, Message=json.dumps(notification(request, status, failure)))
        except ClientError:
            self._count_failure(request, NOTIFY_FAILED)
            LOG.warning("%s: could not notify %s of %s", request.endpoint.name, topic, request.inference_id)


def backlog_metrics(endpoint: str, backlog: int, instances: int) -> list[dict[str, Any]]:
    """The three backlog metrics of an asynchronous endpoint, as SageMaker publishes them."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}]
    values = {
        "ApproximateBacklogSize": float(backlog),
        "ApproximateBacklogSizePerInstance": backlog / instances if instances else float(backlog),
        "HasBacklogWithoutCapacity": 1.0 if backlog and not instances else 0.0,
    }
    return [
        {"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": "Count"}
        for name, value in values.items()
    ]


def failure_metrics(endpoint: str, variant: str, counted: Counter[str]) -> list[dict[str, Any]]:
    """The failures of one variant since the last period, as SageMaker publishes them (EndpointName, VariantName)."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    return [
        {"MetricName": name, "Dimensions": dimensions, "Value": float(count), "Unit": "Count"}
        for name, count in sorted(counted.items())
    ]


def notification(request: AsyncRequest, status: str, failure: str | None) -> dict[str, Any]:
    """The message SageMaker publishes when an asynchronous inference ends."""
    message: dict[str, Any] = {
        "awsRegion": REGION,
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "receivedTime": request.received.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "invocationStatus": status,
        "requestParameters": {
            "contentType": request.content_type,
            "endpointName": request.endpoint.name,
            "inputLocation": request.input_location,
        },
        "responseParameters": {"contentType": request.accept or JSON},
        "inferenceId": request.inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if status == "Completed":
        message["responseParameters"]["outputLocation"] = request.output_location
    else:
        message["failureReason"] = failure
        message["responseParameters"]["failureLocation"] = request.failure_location
    return message
