"""Benchmark: the local k-means runtime over HTTP against an in-process numpy floor, same CSV.

Floor: np.loadtxt of the same CSV bytes + the nearest-centroid argmin, in this process, no HTTP.
Throughput on ~6 MB CSV requests of 784-feature rows (target >= 1.0x the floor's rows/s), and
p50/p99 latency of 1-row requests through the runtime API (target p50 <= 3 ms).
"""

from __future__ import annotations

import argparse
import http.client
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_facts.payloads import REAL_TIME_BODY_LIMIT
from bench.common import LocalEndpoint
from wire.media_types import CSV, JSON

FEATURES = 784


def csv_request(rows: npt.NDArray[np.float32]) -> tuple[bytes, int]:
    """As many rows as fit under 6 MB, every value at full float32 precision."""
    lines, size = [], 0
    for row in rows:
        line = (",".join(repr(float(v)) for v in row) + "\n").encode()
        if size + len(line) > REAL_TIME_BODY_LIMIT:
            break
        lines.append(line)
        size += len(line)
    return b"".join(lines), len(lines)


def floor_predict(body: bytes, centroids: npt.NDArray[np.float64], norms: npt.NDArray[np.float64]) -> None:
    rows = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2).astype(np.float64)
    squared = np.einsum("rd,rd->r", rows, rows)[:, None] - 2.0 * rows @ centroids.T + norms
    np.argmin(squared, axis=1)


def post(connection: http.client.HTTPConnection, body: bytes) -> None:
    path = f"/endpoints/{LocalEndpoint.ENDPOINT}/invocations"
    connection.request("POST", path, body=body, headers={"Content-Type": CSV, "Accept": JSON})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"runtime answered {response.status}: {payload[:300]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-requests", type=int, default=10)
    parser.add_argument("--small-requests", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    centroids = rng.random((10, FEATURES), dtype=np.float32)
    body, rows = csv_request(rng.random((2000, FEATURES), dtype=np.float32))
    one_row = body.split(b"\n", 1)[0]
    wide, norms = centroids.astype(np.float64), np.einsum("cd,cd->c", centroids.astype(np.float64), centroids)

    with LocalEndpoint(centroids) as endpoint:
        connection = http.client.HTTPConnection("localhost", endpoint.config.runtime_port, timeout=60)
        post(connection, one_row)  # warm: resolve the endpoint, load the model
        floor_s, ours_s = [], []
        for _ in range(args.big_requests):  # interleaved, so both see the same machine
            started = time.perf_counter()
            floor_predict(body, wide, norms)
            floor_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            post(connection, body)
            ours_s.append(time.perf_counter() - started)
        latencies = []
        for _ in range(args.small_requests):
            started = time.perf_counter()
            post(connection, one_row)
            latencies.append((time.perf_counter() - started) * 1000)

    floor_rate, ours_rate = rows / statistics.median(floor_s), rows / statistics.median(ours_s)
    size = len(body) / 2**20
    print(f"CSV requests of {size:.2f} MiB ({rows} rows x {FEATURES} features), median of {args.big_requests}")
    print(f"  in-process floor (np.loadtxt + argmin): {floor_rate:9.0f} rows/s")
    print(f"  runtime over HTTP:                      {ours_rate:9.0f} rows/s")
    print(f"  ratio runtime/floor = {ours_rate / floor_rate:.2f}x   (target >= 1.00x)")
    p50, p99 = np.percentile(latencies, [50, 99])
    count = args.small_requests
    print(f"1-row requests ({count}, keep-alive HTTP): p50 {p50:.2f} ms, p99 {p99:.2f} ms   (target p50 <= 3 ms)")


if __name__ == "__main__":
    main()
