"""Benchmark: the verifier against the seed notebook's own check, on a local endpoint, near and far.

10,000 reference rows of 784 features. Baseline (the notebook's recipe): 100-row chunks written with
`np.savetxt(fmt='%g')` (six significant digits: its answers are not even exact), one `text/csv`
invoke_endpoint call per chunk, sequential. Ours: `python -m verification`'s prediction check (exact
encoding, byte-bounded batches up to the payload limit, bounded concurrency, every row compared).
Both run side by side, interleaved, against the same endpoint, twice: with no emulated network and with
LOCAL_AWS_RUNTIME_LATENCY_MS=20 (a round trip to a real endpoint). Targets: >= 3x with 20 ms, >= 1.0x with 0.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_facts.payloads import REAL_TIME_BODY_LIMIT
from bench.common import LocalEndpoint
from bench.verify_vs_sequential import _NoProgress, unbuilt_model
from model_build.reference import ReferenceSet, build_reference_set
from verification.checks import PredictionRun, predictions
from verification.compare import Tolerance
from verification.target import Expected
from wire.media_types import CSV, PROTOBUF

SEED_ROWS_PER_CALL = 100
TARGETS = {"0": 1.0, "20": 3.0}


def seed_recipe(runtime: Any, rows: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float64], int]:
    """The notebook: savetxt('%g') per 100 rows, invoke, collect closest_cluster; returns answers and max body."""
    closest, largest = [], 0
    for start in range(0, len(rows), SEED_ROWS_PER_CALL):
        buffer = io.BytesIO()
        np.savetxt(buffer, rows[start : start + SEED_ROWS_PER_CALL], delimiter=",", fmt="%g")
        body = buffer.getvalue()
        largest = max(largest, len(body))
        response = runtime.invoke_endpoint(EndpointName=LocalEndpoint.ENDPOINT, ContentType=CSV, Body=body)
        closest += [p["closest_cluster"] for p in json.loads(response["Body"].read())["predictions"]]
    return np.array(closest), largest


def measure(
    centroids: npt.NDArray[np.float32], reference: ReferenceSet, latency_ms: str, repeats: int
) -> dict[str, Any]:
    with LocalEndpoint(centroids, LOCAL_AWS_RUNTIME_LATENCY_MS=latency_ms) as endpoint:
        runtime = endpoint.client("sagemaker-runtime", retries={"mode": "standard", "max_attempts": 5})
        run = PredictionRun(
            runtime, LocalEndpoint.ENDPOINT, Expected(unbuilt_model(reference), reference), Tolerance(), 4
        )
        seed_recipe(runtime, reference.rows[:SEED_ROWS_PER_CALL])  # warm: resolve the endpoint, load the model
        seed_s, ours_s, protobuf_s, results, seed_answers, seed_largest = [], [], [], [], None, 0
        for _ in range(repeats):  # interleaved, so both sides see the same machine
            started = time.perf_counter()
            seed_answers, seed_largest = seed_recipe(runtime, reference.rows)
            seed_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            results.append(predictions(run, {"VariantName": "AllTraffic"}, CSV, _NoProgress()))
            ours_s.append(time.perf_counter() - started)
            assert results[-1].passed, results[-1].detail
            started = time.perf_counter()
            assert predictions(run, {"VariantName": "AllTraffic"}, PROTOBUF, _NoProgress()).passed
            protobuf_s.append(time.perf_counter() - started)
    assert seed_answers is not None
    wrong = int(np.count_nonzero(seed_answers != reference.closest_cluster))
    return {
        "seed_s": min(seed_s),
        "ours_s": min(ours_s),
        "protobuf_s": min(protobuf_s),
        "seed_largest": seed_largest,
        "seed_wrong": wrong,
        "ours_largest": max(r.data["largest_request_bytes"] for r in results),
        "ours_requests": results[-1].data["requests"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    centroids = rng.random((10, 784), dtype=np.float32)
    reference = build_reference_set(rng.random((args.rows, 784), dtype=np.float32), centroids)
    print(f"{args.rows} rows x 784, CSV, best of {args.repeats}; seed: {SEED_ROWS_PER_CALL}-row calls, sequential")
    for latency, target in TARGETS.items():
        got = measure(centroids, reference, latency, args.repeats)
        ratio = got["seed_s"] / got["ours_s"]
        print(
            f"  emulated latency {latency:>2} ms: seed {got['seed_s']:6.2f} s, verifier {got['ours_s']:6.2f} s, "
            f"ratio {ratio:.2f}x (target >= {target:.1f}x)"
        )
        print(
            f"      largest request: seed {got['seed_largest']} bytes, verifier {got['ours_largest']} bytes "
            f"in {got['ours_requests']} requests (limit {REAL_TIME_BODY_LIMIT}); "
            f"seed's wrong clusters: {got['seed_wrong']}"
        )
        protobuf_ratio = got["seed_s"] / got["protobuf_s"]
        print(f"      also: the verifier's RecordIO-protobuf check {got['protobuf_s']:.2f} s ({protobuf_ratio:.2f}x)")


if __name__ == "__main__":
    main()
