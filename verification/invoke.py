"""Send batches to one variant with bounded concurrency, botocore's standard retries, and cold-start retries.

botocore's standard retry mode does not retry ModelNotReadyException (HTTP 429, which a serverless endpoint
answers while it cold-starts): `invoke_batches` retries it with exponential backoff until a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from botocore.exceptions import ClientError

from wire.answers import read_answers
from wire.media_types import JSON, PROTOBUF
from wire.requests import Batch

NOT_READY_CODE = "ModelNotReadyException"
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0


@dataclass(frozen=True)
class VariantAnswers:
    """Every row's answer from one variant in one content type, and each call's latency."""

    closest: npt.NDArray[np.float64]
    distances: npt.NDArray[np.float64]
    latencies_s: list[float]


def accept_for(content_type: str) -> str:
    """Protobuf requests ask for protobuf answers; CSV and JSON ones for JSON: both parsers get used."""
    return PROTOBUF if content_type == PROTOBUF else JSON


def invoke_batches(
    runtime: Any,
    *,
    endpoint_name: str,
    variant: str,
    content_type: str,
    batches: Iterable[Batch],
    rows: int,
    concurrency: int,
    not_ready_until: float = 0.0,
    on_sent: Callable[[Batch], None] = lambda batch: None,
) -> VariantAnswers:
    """Send each batch as soon as it is encoded: encoding overlaps the endpoint's work.

    At most 2 x `concurrency` batches are held at once, so memory stays bounded.
    """
    closest = np.full(rows, np.nan)
    distances = np.full(rows, np.nan)
    latencies: list[float] = []

    def invoke(batch: Batch) -> Any:
        return runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            TargetVariant=variant,
            ContentType=content_type,
            Accept=accept_for(content_type),
            Body=batch.body,
        )

    def call(batch: Batch) -> None:
        started = time.perf_counter()
        response = retrying_not_ready(lambda: invoke(batch), not_ready_until)
        body = response["Body"].read()
        latencies.append(time.perf_counter() - started)
        got_closest, got_distances = read_answers(response["ContentType"], body)
        if len(got_closest) != batch.stop - batch.start:
            raise ValueError(f"rows {batch.start}..{batch.stop}: {len(got_closest)} answers")
        closest[batch.start : batch.stop] = got_closest
        distances[batch.start : batch.stop] = got_distances
        on_sent(batch)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: set[Future[None]] = set()
        for batch in batches:
            if len(pending) >= 2 * concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            pending.add(pool.submit(call, batch))
        for future in pending:
            future.result()
    return VariantAnswers(closest=closest, distances=distances, latencies_s=latencies)


def retrying_not_ready(call: Callable[[], Any], until: float, sleep: Callable[[float], None] = time.sleep) -> Any:
    """`call()`, retried on ModelNotReadyException with exponential backoff while time.monotonic() < until."""
    backoff = FIRST_BACKOFF_S
    while True:
        try:
            return call()
        except ClientError as error:
            remaining = until - time.monotonic()
            if error.response.get("Error", {}).get("Code") != NOT_READY_CODE or remaining <= 0:
                raise
            sleep(min(backoff, remaining))
            backoff = min(2 * backoff, MAX_BACKOFF_S)
