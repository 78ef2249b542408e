"""InvokeEndpointAsync: 202 at once; the answer is written to S3 later, and SNS told, as SageMaker does.

A background thread takes each accepted request: it reads `InputLocation`, asks the variant's model,
and writes the answer to `<S3OutputPath>/<InferenceId>.out` or the error to `<S3FailurePath>/
<InferenceId>-error.out`, then publishes to the config's SuccessTopic or ErrorTopic (through the
local control plane's SNS). Sources: API InvokeEndpointAsync; developer guide "Asynchronous inference"
(output naming, notification messages).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from local_aws.config import REGION
from local_aws.runtime.background import BackgroundQueue
from local_aws.runtime.resolver import Endpoint, Variant
from wire.media_types import JSON

QUEUE_LIMIT = 1024
Predict = Callable[[Variant, str, str | None, bytes], tuple[bytes, str]]


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
    """A queue of accepted requests and the thread that answers them, in order."""

    def __init__(self, s3: Any, sns: Any, predict: Predict) -> None:
        self.s3, self.sns, self._predict = s3, sns, predict
        self._queue = BackgroundQueue[AsyncRequest]("async-invocations", self._answer, QUEUE_LIMIT)

    def offer(self, request: AsyncRequest) -> bool:
        return self._queue.offer(request)

    def drain(self) -> None:
        self._queue.drain()

    def _answer(self, request: AsyncRequest) -> None:
        try:
            body = self._read(request.input_location)
            answer, _ = self._predict(request.variant, request.content_type, request.accept, body)
        except (ValueError, ClientError) as error:
            self._write(request.failure_location, str(error).encode())
            self._notify(request, "ErrorTopic", "Failed", str(error))
            return
        self._write(request.output_location, answer)
        self._notify(request, "SuccessTopic", "Completed", None)

    def _read(self, location: str) -> bytes:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        data: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def _write(self, location: str, body: bytes) -> None:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def _notify(self, request: AsyncRequest, topic_key: str, status: str, failure: str | None) -> None:
        config = request.endpoint.async_config or {}
        topic = (config.get("OutputConfig", {}).get("NotificationConfig") or {}).get(topic_key)
        if topic:
            self.sns.publish(TopicArn=topic, Message=json.dumps(notification(request, status, failure)))


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
