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
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from local_aws.config import REGION
from local_aws.rules import enforced
from local_aws.runtime.background import BackgroundQueue
from local_aws.runtime.resolver import Endpoint, Variant
from wire.media_types import JSON

QUEUE_LIMIT = 1024
WORKERS = 8  # requests answered at once, over all endpoints; each endpoint is bounded by its capacity
CAPACITY_POLL_S = 0.25
DURABLE_RULE = "async-durable-queue"
CAPACITY_RULE = "async-instance-capacity"
METRICS_RULE = "async-backlog-metrics"
KMS_RULE = "async-output-kms"
METRICS_PERIOD_S = 5.0  # AWS publishes per minute; the local AWS sooner, so alarms are seen to move in tests
NAMESPACE = "AWS/SageMaker"
SPOOL_FOLDER = "async-invocations"
Predict = Callable[[Variant, str, str | None, bytes], tuple[bytes, str]]
Resolve = Callable[[str], Endpoint]
InstanceCount = Callable[[str, str], int]  # (endpoint, variant) -> its current instance count
LOG = logging.getLogger(__name__)


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


_RECORDED = ("inference_id", "input_location", "content_type", "accept", "output_location", "failure_location")


def spool_record(request: AsyncRequest) -> dict[str, Any]:
    """What a replaced runtime needs to answer `request` as the one that accepted it would have."""
    record: dict[str, Any] = {name: getattr(request, name) for name in _RECORDED}
    return {**record, "endpoint": request.endpoint.name, "received": request.received.isoformat()}


def spooled_request(record: dict[str, Any], endpoint: Endpoint, path: Path) -> AsyncRequest:
    fields = {name: record[name] for name in _RECORDED}
    received = datetime.fromisoformat(record["received"])
    return AsyncRequest(endpoint, endpoint.variants[0], **fields, received=received, spooled=path)


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
        received=datetime.now(UTC),
    )


class AsyncInvocations:
    """A queue of accepted requests and the WORKERS threads that answer them, oldest first.

    With a `spool` folder (and rule `async-durable-queue` on), each accepted request is kept there until
    answered, and the requests a previous runtime left there are answered first (resolving their endpoints
    through `resolve`).
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
    ) -> None:
        self.s3, self.sns, self._predict = s3, sns, predict
        self.spool = spool if enforced(DURABLE_RULE) else None
        self._instance_count = instance_count if enforced(CAPACITY_RULE) else None
        self._answering: dict[str, int] = {}
        self._capacity_changed = threading.Condition()
        self._backlog: dict[str, tuple[str, int]] = {}  # endpoint -> (its variant, requests not yet answered)
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

    def _publish_forever(self, cloudwatch: Any, instance_count: InstanceCount, period_s: float) -> None:
        while True:
            time.sleep(period_s)
            with self._capacity_changed:
                backlog = dict(self._backlog)
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
        try:
            self._answer_within_capacity(request)
        finally:
            with self._capacity_changed:
                self._answering[request.endpoint.name] -= 1
                self._capacity_changed.notify_all()

    def _take_capacity(self, request: AsyncRequest) -> None:
        """Wait until the endpoint answers fewer requests than its instances can take, then count this one."""
        name = request.endpoint.name
        client = (request.endpoint.async_config or {}).get("ClientConfig") or {}
        per_instance = int(client.get("MaxConcurrentInvocationsPerInstance", 1))
        while True:
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

    def _fail(self, request: AsyncRequest, error: Exception) -> None:
        self._write(request, request.failure_location, str(error).encode())
        self._notify(request, "ErrorTopic", "Failed", str(error))
        if request.spooled is not None:
            request.spooled.unlink(missing_ok=True)

    def _answer_within_capacity(self, request: AsyncRequest) -> None:
        try:
            body = self._read(request.input_location)
            answer, _ = self._predict(request.variant, request.content_type, request.accept, body)
        except (ValueError, ClientError) as error:
            self._fail(request, error)
            return
        self._write(request, request.output_location, answer)
        self._notify(request, "SuccessTopic", "Completed", None)
        if request.spooled is not None:  # answered: a replaced runtime must not answer it again
            request.spooled.unlink(missing_ok=True)

    def _read(self, location: str) -> bytes:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        data: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def _write(self, request: AsyncRequest, location: str, body: bytes) -> None:
        """Rule `async-output-kms`: with OutputConfig.KmsKeyId the object is SSE-KMS with that key."""
        bucket, _, key = location.removeprefix("s3://").partition("/")
        kms_key = ((request.endpoint.async_config or {}).get("OutputConfig") or {}).get("KmsKeyId")
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        if not enforced(KMS_RULE):
            encryption = {}
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, **encryption)

    def _notify(self, request: AsyncRequest, topic_key: str, status: str, failure: str | None) -> None:
        config = request.endpoint.async_config or {}
        topic = (config.get("OutputConfig", {}).get("NotificationConfig") or {}).get(topic_key)
        if topic:
            self.sns.publish(TopicArn=topic, Message=json.dumps(notification(request, status, failure)))


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
