"""Benchmark: a local Batch Transform against an in-process floor, on the same generated CSV.

Input: 100,000 x 784 MNIST-like rows (whole pixel values), written as 10 CSV objects (~0.4 GB of text).
Floor: the same bytes parsed with Arrow's CSV reader (what the runtime uses) and labelled by one matrix
product and an argmin, in this process, nothing else. Local transform: CreateTransformJob on the local
AWS with 2 instances (worker processes), MultiRecord batches of 6 MB, CSV answers written to S3.
Targets: throughput >= 0.5x the floor's rows/s; the local AWS's peak memory (control plane, runtime and
transform workers, as PSS so that pages they share count once, sampled every 0.1 s) under 1 GiB: the
objects are streamed, not loaded whole.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import LocalEndpoint
from scoring.transform import TransformRequest, poll, start

FEATURES, OBJECTS = 784, 10
THROUGHPUT_TARGET, RSS_TARGET_BYTES = 0.5, 1 << 30


def generated_objects(rows: int, seed: int = 0) -> list[bytes]:
    """`rows` MNIST-like rows (0-255 pixel values, mostly dark) as OBJECTS CSV bodies."""
    rng = np.random.default_rng(seed)
    bodies = []
    for count in np.diff(np.linspace(0, rows, OBJECTS + 1).astype(int)):
        pixels = np.where(rng.random((count, FEATURES)) < 0.8, 0, rng.integers(1, 256, (count, FEATURES)))
        text = orjson.dumps(pixels.astype(np.float32), option=orjson.OPT_SERIALIZE_NUMPY)
        bodies.append(text[2:-2].replace(b"],[", b"\n") + b"\n")
    return bodies


def floor_labels(body: bytes, centroids: npt.NDArray[np.float64]) -> int:
    columns = [f"c{index}" for index in range(FEATURES)]
    table = pa_csv.read_csv(
        pa.py_buffer(body),
        read_options=pa_csv.ReadOptions(column_names=columns),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.float64())),
    )
    values = np.column_stack([column.to_numpy() for column in table.columns])
    squared = (centroids**2).sum(axis=1) - 2.0 * values @ centroids.T
    return len(np.argmin(squared, axis=1))


class PeakRss:
    """The largest total memory (PSS: shared pages counted once) of processes and their descendants."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak, self._stop = pids, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, sum(_rss(pid) for pid in _tree(self.pids)))


def _tree(pids: list[int]) -> list[int]:
    found, pending = [], list(pids)
    while pending:
        pid = pending.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            pending.extend(int(child) for child in task.read_text().split())
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def local_transform(endpoint: LocalEndpoint, bodies: list[bytes]) -> tuple[float, int]:
    """Seconds from CreateTransformJob to Completed, and the local AWS's peak RSS meanwhile."""
    from local_aws.processes import read_pids

    s3, sagemaker = endpoint.client("s3"), endpoint.client("sagemaker")
    for index, body in enumerate(bodies):
        s3.put_object(Bucket="bench", Key=f"input/part-{index:02d}.csv", Body=body)
    with PeakRss(list(read_pids(endpoint.config).values())) as rss:
        started = time.perf_counter()
        request = TransformRequest.of_csv("bench-model", "s3://bench/input/", "s3://bench/output")
        start(sagemaker, replace(request, instances=2), "bench-transform")
        status = poll(sagemaker, "bench-transform", timeout_s=1000, poll_s=0.25)  # Failed: reported below
        elapsed = time.perf_counter() - started
    if status["TransformJobStatus"] != "Completed":
        raise SystemExit(f"transform {status['TransformJobStatus']}: {status.get('FailureReason')}")
    return elapsed, rss.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    centroids = np.random.default_rng(1).random((10, FEATURES), dtype=np.float32) * 255
    bodies = generated_objects(args.rows)
    print(f"{args.rows} rows x {FEATURES} in {OBJECTS} CSV objects, {sum(map(len, bodies)) / 1e6:.0f} MB")
    started = time.perf_counter()
    labelled = sum(floor_labels(body, centroids.astype(np.float64)) for body in bodies)
    floor_s = time.perf_counter() - started
    assert labelled == args.rows
    with LocalEndpoint(centroids) as endpoint:
        transform_s, peak = local_transform(endpoint, bodies)
    ratio = floor_s / transform_s
    print(f"  floor (Arrow parse + argmin, in process): {args.rows / floor_s:,.0f} rows/s")
    print(
        f"  local transform, 2 instances: {args.rows / transform_s:,.0f} rows/s, "
        f"ratio {ratio:.2f}x (target >= {THROUGHPUT_TARGET}x)"
    )
    print(f"  local AWS peak memory (PSS): {peak / 2**20:,.0f} MiB (target < {RSS_TARGET_BYTES / 2**20:,.0f} MiB)")


if __name__ == "__main__":
    main()
