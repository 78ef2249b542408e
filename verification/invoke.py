"""Send batches to one variant with bounded concurrency and botocore's standard retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from verification.payloads import PROTOBUF, Batch, parse_response

JSON_ACCEPT = "application/json"


@dataclass(frozen=True)
class VariantAnswers:
    """Every row's answer from one variant in one content type, and each call's latency."""

    closest: npt.NDArray[np.float64]
    distances: npt.NDArray[np.float64]
    latencies_s: list[float]


def accept_for(content_type: str) -> str:
    """Protobuf requests ask for protobuf answers; CSV and JSON ones for JSON: both parsers get used."""
    return PROTOBUF if content_type == PROTOBUF else JSON_ACCEPT


def invoke_batches(
    runtime: Any,
    *,
    endpoint_name: str,
    variant: str,
    content_type: str,
    batches: list[Batch],
    rows: int,
    concurrency: int,
    on_done: Callable[[], None] = lambda: None,
) -> VariantAnswers:
    closest = np.full(rows, np.nan)
    distances = np.full(rows, np.nan)
    latencies: list[float] = []

    def call(batch: Batch) -> None:
        started = time.perf_counter()
        response = runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            TargetVariant=variant,
            ContentType=content_type,
            Accept=accept_for(content_type),
            Body=batch.body,
        )
        body = response["Body"].read()
        latencies.append(time.perf_counter() - started)
        got_closest, got_distances = parse_response(response["ContentType"], body)
        if len(got_closest) != batch.stop - batch.start:
            raise ValueError(f"rows {batch.start}..{batch.stop}: {len(got_closest)} answers")
        closest[batch.start : batch.stop] = got_closest
        distances[batch.start : batch.stop] = got_distances
        on_done()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(call, batch) for batch in batches]:
            future.result()
    return VariantAnswers(closest=closest, distances=distances, latencies_s=latencies)
