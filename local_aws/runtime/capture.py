"""Data capture as SageMaker writes it: JSON Lines objects under `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`.

Each record holds the request and the response with their observed content types, encoded as CSV or JSON
text when the config's CaptureContentTypeHeader lists the type, else BASE64; `eventMetadata` carries an
`eventId`, the `inferenceTime` to the second in UTC (`2022-02-14T17:25:49Z`, as the developer guide's
"Capture data from real-time endpoint" prints it) and the caller's `inferenceId` when InvokeEndpoint was given
one (API reference, InvokeEndpoint: "it is added to the captured data"). Requests are sampled at
InitialSamplingPercentage.

SageMaker buffers records and writes one object per variant per time window, not one per request (the guide's
files hold many lines; delivery "can require a couple of minutes"). Here records are buffered per destination,
endpoint, variant and hour, and each buffer is written as one object `{mm-ss-SSS}-{uuid}.jsonl` (named by its
first record's time) once it is `LOCAL_AWS_CAPTURE_WINDOW_S` seconds old (default 0.5: AWS documents no window
length, and a short one lets tests and demos see files quickly). One background thread writes, so capture never
slows an invocation down; `close()` (the runtime's SIGTERM, from `local_aws down`) writes what is buffered.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

QUEUE_LIMIT = 10_000  # records buffered at once; beyond it records are dropped (and logged), as a full buffer would
WINDOW_VARIABLE = "LOCAL_AWS_CAPTURE_WINDOW_S"
DEFAULT_WINDOW_S = 0.5
INFERENCE_ID_HEADER = "X-Amzn-SageMaker-Inference-Id"  # InvokeEndpoint's InferenceId (botocore's model)
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    endpoint: str
    variant: str
    request_type: str
    request: bytes
    response_type: str
    response: bytes
    inference_id: str | None = None  # InvokeEndpoint's InferenceId (X-Amzn-SageMaker-Inference-Id), when given


def capture_key(prefix: str, exchange: Exchange, when: datetime) -> str:
    stamp = when.strftime("%Y/%m/%d/%H")
    name = f"{when.strftime('%M-%S-%f')[:-3]}-{uuid.uuid4()}.jsonl"
    return "/".join(part for part in (prefix.strip("/"), exchange.endpoint, exchange.variant, stamp, name) if part)


def capture_record(config: dict[str, Any], exchange: Exchange, when: datetime) -> dict[str, Any]:
    modes = {option["CaptureMode"] for option in config.get("CaptureOptions", [])}
    headers = config.get("CaptureContentTypeHeader", {})
    data: dict[str, Any] = {}
    if modes & {"Input", "InputAndOutput"}:
        data["endpointInput"] = _encoded("INPUT", exchange.request_type, exchange.request, headers)
    if modes & {"Output", "InputAndOutput"}:
        data["endpointOutput"] = _encoded("OUTPUT", exchange.response_type, exchange.response, headers)
    metadata = {"eventId": str(uuid.uuid4())}
    if exchange.inference_id:
        metadata["inferenceId"] = exchange.inference_id
    metadata["inferenceTime"] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}


def _encoded(mode: str, content_type: str, body: bytes, headers: dict[str, Any]) -> dict[str, str]:
    kind = content_type.split(";", maxsplit=1)[0].strip()
    if kind in headers.get("CsvContentTypes", []):
        encoding, text = "CSV", body.decode("utf-8", "replace")
    elif kind in headers.get("JsonContentTypes", []):
        encoding, text = "JSON", body.decode("utf-8", "replace")
    else:
        encoding, text = "BASE64", base64.b64encode(body).decode()
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


@dataclass
class _Buffer:
    """The records of one variant's current window: written together as one object."""

    bucket: str
    key: str
    kms_key: str | None
    opened: float  # time.monotonic() of the first record
    lines: list[str] = field(default_factory=list)


def window_from_environment() -> float:
    return float(os.environ.get(WINDOW_VARIABLE, DEFAULT_WINDOW_S))


class DataCapture:
    """Samples exchanges, buffers their records per variant and window, and writes each window as one object."""

    def __init__(self, s3: Any, chooser: random.Random | None = None, window_s: float | None = None) -> None:
        self.s3 = s3
        self.chooser = chooser or random.Random()
        self.window_s = window_from_environment() if window_s is None else window_s
        self._lock = threading.Condition()
        self._buffers: dict[tuple[str, ...], _Buffer] = {}
        self._buffered = 0
        self._writing = 0  # buffers taken out but not yet written
        self._worker = threading.Thread(target=self._write_forever, name="data-capture", daemon=True)
        self._worker.start()

    def offer(self, config: dict[str, Any] | None, exchange: Exchange) -> None:
        if not config or not config.get("EnableCapture", True):
            return
        if self.chooser.random() * 100 >= float(config.get("InitialSamplingPercentage", 100)):
            return
        when = datetime.now(UTC)
        line = json.dumps(capture_record(config, exchange, when))
        destination = urlparse(config["DestinationS3Uri"])
        hour = when.strftime("%Y%m%d%H")  # an object never spans two hour folders
        slot = (config["DestinationS3Uri"], config.get("KmsKeyId") or "", exchange.endpoint, exchange.variant, hour)
        with self._lock:
            if self._buffered >= QUEUE_LIMIT:
                LOG.warning("data capture buffer full: dropped a record of %s", exchange.endpoint)
                return
            buffer = self._buffers.get(slot)
            if buffer is None:
                key = capture_key(destination.path, exchange, when)
                buffer = _Buffer(destination.netloc, key, config.get("KmsKeyId"), time.monotonic())
                self._buffers[slot] = buffer
                self._lock.notify_all()
            buffer.lines.append(line)
            self._buffered += 1

    def drain(self) -> None:
        """Write every record offered so far now, and wait until written (tests, shutdown)."""
        with self._lock:
            for buffer in self._buffers.values():
                buffer.opened = float("-inf")
            self._lock.notify_all()
            self._lock.wait_for(lambda: not self._buffers and not self._writing)

    def close(self) -> None:
        """Shutdown: nothing accepted is lost."""
        self.drain()

    def _write_forever(self) -> None:
        while True:
            with self._lock:
                while not (due := self._due()):
                    self._lock.wait(self._until_next())
                taken = [self._buffers.pop(slot) for slot in due]
                self._writing += len(taken)
            for buffer in taken:
                try:
                    self._write(buffer)
                except Exception:  # a capture failure must not stop capturing (nor serving)
                    LOG.exception("data capture write failed for %s", buffer.key)
                finally:
                    with self._lock:
                        self._writing -= 1
                        self._buffered -= len(buffer.lines)
                        self._lock.notify_all()

    def _due(self) -> list[tuple[str, ...]]:
        now = time.monotonic()
        return [slot for slot, buffer in self._buffers.items() if now - buffer.opened >= self.window_s]

    def _until_next(self) -> float | None:
        """Seconds until the oldest window closes; None (wait for a record) when nothing is buffered."""
        if not self._buffers:
            return None
        oldest = min(buffer.opened for buffer in self._buffers.values())
        return max(0.0, oldest + self.window_s - time.monotonic())

    def _write(self, buffer: _Buffer) -> None:
        body = "".join(line + "\n" for line in buffer.lines).encode()
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": buffer.kms_key} if buffer.kms_key else {}
        self.s3.put_object(Bucket=buffer.bucket, Key=buffer.key, Body=body, **extra)
