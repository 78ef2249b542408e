"""Data capture as SageMaker writes it: JSON Lines records under `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`.

Each record holds the request and the response with their observed content types, encoded as CSV or JSON
text when the config's CaptureContentTypeHeader lists the type, else BASE64 (developer guide "Capture data
from real-time endpoint"). Requests are sampled at InitialSamplingPercentage. Objects are written by one
background thread, one per captured request, so capture never slows an invocation down.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

QUEUE_LIMIT = 10_000  # beyond it records are dropped (and logged), as a full capture buffer would
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    endpoint: str
    variant: str
    request_type: str
    request: bytes
    response_type: str
    response: bytes


def capture_key(prefix: str, exchange: Exchange, when: datetime) -> str:
    stamp = when.strftime("%Y/%m/%d/%H")
    name = f"{when.strftime('%M-%S-%f')[:-3]}-{uuid.uuid4()}.jsonl"
    return "/".join(part for part in (prefix.strip("/"), exchange.endpoint, exchange.variant, stamp, name) if part)


def capture_record(config: dict[str, Any], exchange: Exchange, when: datetime) -> dict[str, Any]:
    modes = {option["CaptureMode"] for option in config.get("CaptureOptions", [])}
    headers = config.get("CaptureContentTypeHeader", {})
    data: dict[str, Any] = {}
    if "Input" in modes:
        data["endpointInput"] = _encoded("INPUT", exchange.request_type, exchange.request, headers)
    if "Output" in modes:
        data["endpointOutput"] = _encoded("OUTPUT", exchange.response_type, exchange.response, headers)
    metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
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


class DataCapture:
    """Samples exchanges and writes them to S3 in the background."""

    def __init__(self, s3: Any, chooser: random.Random | None = None) -> None:
        self.s3 = s3
        self.chooser = chooser or random.Random()
        self._queue: queue.Queue[tuple[dict[str, Any], Exchange, datetime]] = queue.Queue(QUEUE_LIMIT)
        self._worker = threading.Thread(target=self._write_forever, name="data-capture", daemon=True)
        self._worker.start()

    def offer(self, config: dict[str, Any] | None, exchange: Exchange) -> None:
        if not config or not config.get("EnableCapture", True):
            return
        if self.chooser.random() * 100 >= float(config.get("InitialSamplingPercentage", 100)):
            return
        try:
            self._queue.put_nowait((config, exchange, datetime.now(UTC)))
        except queue.Full:
            LOG.warning("data capture queue full: dropped a record of %s", exchange.endpoint)

    def drain(self) -> None:
        """Wait until every offered record is written (tests)."""
        self._queue.join()

    def _write_forever(self) -> None:
        while True:
            config, exchange, when = self._queue.get()
            try:
                self._write(config, exchange, when)
            except Exception:  # a capture failure must not stop capturing (nor serving)
                LOG.exception("data capture write failed for %s", exchange.endpoint)
            finally:
                self._queue.task_done()

    def _write(self, config: dict[str, Any], exchange: Exchange, when: datetime) -> None:
        destination = urlparse(config["DestinationS3Uri"])
        key = capture_key(destination.path, exchange, when)
        body = (json.dumps(capture_record(config, exchange, when)) + "\n").encode()
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": config["KmsKeyId"]} if config.get("KmsKeyId") else {}
        self.s3.put_object(Bucket=destination.netloc, Key=key, Body=body, **extra)
