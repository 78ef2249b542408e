"""Benchmark: the verifier's prediction check against plain sequential invoke_endpoint calls.

10,000 reference rows of 784 features, CSV, against the local runtime. Floor (the issue's
baseline): the same byte-bounded batches, encoded beforehand, sent by plain sequential
invoke_endpoint calls. The verifier: encodes the batches as it streams them into bounded
concurrency with standard retries, and compares every row. Also printed: a sequential verifier
(encode a batch, invoke, next), the baseline a verifier without concurrency would be.
Target: >= 1.5x the floor's rows/s, and no request above the 6 MB payload limit.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_facts.payloads import REAL_TIME_BODY_LIMIT
from bench.common import LocalEndpoint
from model_build.manifest import BuiltModel
from model_build.reference import ReferenceSet, build_reference_set
from verification.checks import PredictionRun, predictions
from verification.compare import Tolerance
from verification.target import Expected
from wire.media_types import CSV
from wire.requests import batches


class _NoProgress:
    total = 0

    def update(self, _: int) -> None:
        return None


def sequential(runtime: Any, bodies: Iterable[bytes]) -> None:
    for body in bodies:
        runtime.invoke_endpoint(EndpointName=LocalEndpoint.ENDPOINT, ContentType=CSV, Body=body)["Body"].read()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def unbuilt_model(reference: ReferenceSet) -> BuiltModel:
    """The run compares predictions only; it reads no manifest."""
    clusters = int(reference.closest_cluster.max()) + 1
    return BuiltModel(Path("."), clusters, reference.rows.shape[1], artifact_sha256="", manifest={})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    centroids = rng.random((10, 784), dtype=np.float32)
    reference = build_reference_set(rng.random((args.rows, 784), dtype=np.float32), centroids)
    bodies = [batch.body for batch in batches(reference.rows, CSV, REAL_TIME_BODY_LIMIT)]
    variant = {"VariantName": "AllTraffic"}

    with LocalEndpoint(centroids) as endpoint:
        plain = endpoint.client("sagemaker-runtime")
        retrying = endpoint.client("sagemaker-runtime", retries={"mode": "standard", "max_attempts": 5})
        run = PredictionRun(
            retrying,
            LocalEndpoint.ENDPOINT,
            Expected(unbuilt_model(reference), reference),
            Tolerance(),
            args.concurrency,
        )
        sequential(plain, bodies[:1])  # warm: resolve the endpoint, load the model
        times: dict[str, list[float]] = {"baseline": [], "transport": [], "ours": []}
        results = []
        for _ in range(args.repeats):  # interleaved, so every side sees the same machine
            encoded = (batch.body for batch in batches(reference.rows, CSV, REAL_TIME_BODY_LIMIT))
            times["baseline"].append(timed(lambda: sequential(plain, encoded)))  # noqa: B023
            times["transport"].append(timed(lambda: sequential(plain, bodies)))
            times["ours"].append(timed(lambda: results.append(predictions(run, variant, CSV, _NoProgress()))))
            assert results[-1].passed, results[-1].detail

    rate = {side: args.rows / min(seconds) for side, seconds in times.items()}
    print(f"{args.rows} rows x 784 features, CSV, {len(bodies)} requests, best of {args.repeats}")
    print(f"  floor: sequential invoke_endpoint, bodies encoded beforehand: {rate['transport']:8.0f} rows/s")
    print(f"  verifier (encodes, concurrency {args.concurrency}, compares every row): {rate['ours']:8.0f} rows/s")
    print(f"  ratio verifier/floor = {rate['ours'] / rate['transport']:.2f}x   (target >= 1.50x)")
    print(f"  sequential verifier (encode + invoke_endpoint per batch): {rate['baseline']:8.0f} rows/s")
    print(f"  ratio verifier/sequential verifier = {rate['ours'] / rate['baseline']:.2f}x")
    largest = max(result.data["largest_request_bytes"] for result in results)
    print(f"  largest request: {largest} bytes (limit {REAL_TIME_BODY_LIMIT})")


if __name__ == "__main__":
    main()
