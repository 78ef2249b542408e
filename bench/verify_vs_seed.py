"""Benchmark: the verifier as a user runs it against the seed notebook's own check, on a local endpoint.

10,000 reference rows of 784 features (MNIST-sized). Baseline (the notebook's recipe, its loop only: the
kernel has already imported numpy and boto3 and made its client): 100-row chunks written with
`np.savetxt(fmt='%g')` (six significant digits: its answers are not even exact), one `text/csv`
invoke_endpoint call per chunk, sequential. Ours: `python -m verification --endpoint ... --content-types
text/csv` as a separate process, start-up and every check included (endpoint in service, declared config,
deployed artifact, predictions with exact encoding, byte-bounded batches, bounded concurrency, every row
compared). Also printed: the prediction check alone, in-process, in CSV and in RecordIO-protobuf. All sides
run interleaved against the same endpoint, twice: with no emulated network and with
LOCAL_AWS_RUNTIME_LATENCY_MS=20 (a round trip to a real endpoint). Targets for the whole process: >= 3x with
20 ms, >= 1.5x with 0. The client side's CPU seconds are printed too: on a shared machine they move less than
wall time does.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_facts.payloads import REAL_TIME_BODY_LIMIT
from bench.common import BENCH_DIR, REPO_ROOT, LocalEndpoint
from bench.verify_vs_sequential import _NoProgress
from model_build.build import BuildRequest, build
from verification.checks import PredictionRun, predictions
from verification.compare import Tolerance
from verification.target import load_expected
from wire.media_types import CSV, PROTOBUF

SEED_ROWS_PER_CALL = 100
TARGETS = {"0": 1.5, "20": 3.0}  # the whole process against the seed's loop


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


def verifier_process(endpoint: LocalEndpoint, build_dir: Path) -> tuple[float, float, dict[str, Any]]:
    """`python -m verification` as a user runs it: wall and CPU seconds from spawn to exit, and its JSON report."""
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as scratch:
        report_path = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "verification", "--endpoint", LocalEndpoint.ENDPOINT]
        command += ["--reference", str(build_dir), "--content-types", CSV, "--json", str(report_path)]
        environment = {**os.environ, **endpoint.config.client_environment()}
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE)
        assert process.stdout is not None
        output = process.stdout.read()  # the summary is short: a pipe never fills
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"the verifier failed ({status}):\n{output.decode()[-3000:]}")
        report: dict[str, Any] = json.loads(report_path.read_text())
    return elapsed, usage.ru_utime + usage.ru_stime, report


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(centroids: npt.NDArray[np.float32], build_dir: Path, latency_ms: str, repeats: int) -> dict[str, Any]:
    expected = load_expected(build_dir)
    rows = expected.reference.rows
    with LocalEndpoint(centroids, LOCAL_AWS_RUNTIME_LATENCY_MS=latency_ms) as endpoint:
        runtime = endpoint.client("sagemaker-runtime", retries={"mode": "standard", "max_attempts": 5})
        run = PredictionRun(runtime, LocalEndpoint.ENDPOINT, expected, Tolerance(), 4)
        seed_recipe(runtime, rows[:SEED_ROWS_PER_CALL])  # warm: resolve the endpoint, load the model
        seed_s, seed_cpu_s, process_s, process_cpu_s, check_s, protobuf_s = [], [], [], [], [], []
        reports, results = [], []
        seed_answers, seed_largest = None, 0
        for _ in range(repeats):  # interleaved, so every side sees the same machine
            started, cpu_started = time.perf_counter(), cpu_s()
            seed_answers, seed_largest = seed_recipe(runtime, rows)
            seed_s.append(time.perf_counter() - started)
            seed_cpu_s.append(cpu_s() - cpu_started)
            elapsed, cpu, report = verifier_process(endpoint, build_dir)
            process_s.append(elapsed)
            process_cpu_s.append(cpu)
            reports.append(report)
            started = time.perf_counter()
            results.append(predictions(run, {"VariantName": "AllTraffic"}, CSV, _NoProgress()))
            check_s.append(time.perf_counter() - started)
            assert results[-1].passed, results[-1].detail
            started = time.perf_counter()
            assert predictions(run, {"VariantName": "AllTraffic"}, PROTOBUF, _NoProgress()).passed
            protobuf_s.append(time.perf_counter() - started)
    assert seed_answers is not None
    fastest = reports[int(np.argmin(process_s))]
    return {
        "seed_s": min(seed_s),
        "seed_cpu_s": min(seed_cpu_s),
        "process_s": min(process_s),
        "process_cpu_s": min(process_cpu_s),
        "check_s": min(check_s),
        "protobuf_s": min(protobuf_s),
        "checks_s": {check["name"]: check["duration_s"] for check in fastest["checks"]},
        "seed_largest": seed_largest,
        "seed_wrong": int(np.count_nonzero(seed_answers != expected.reference.closest_cluster)),
        "ours_largest": max(r.data["largest_request_bytes"] for r in results),
        "ours_requests": results[-1].data["requests"],
    }


def write_build(rows: int, build_dir: Path) -> npt.NDArray[np.float32]:
    """A build folder (artifact, manifest, reference set) of random centroids and rows; returns the centroids."""
    rng = np.random.default_rng(5)
    centroids = rng.random((10, 784), dtype=np.float32)
    reference_rows = rng.random((rows, 784), dtype=np.float32)
    build(
        BuildRequest(centroids, reference_rows, source={"bench": "verify_vs_seed"}, training=None, draw_picture=False),
        build_dir,
    )
    return centroids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    build_dir = BENCH_DIR / "verify_vs_seed"
    centroids = write_build(args.rows, build_dir)
    print(f"{args.rows} rows x 784, CSV, best of {args.repeats}; seed: {SEED_ROWS_PER_CALL}-row calls, sequential")
    for latency, target in TARGETS.items():
        got = measure(centroids, build_dir, latency, args.repeats)
        ratio = got["seed_s"] / got["process_s"]
        print(
            f"  emulated latency {latency:>2} ms: seed loop {got['seed_s']:6.2f} s, `python -m verification` "
            f"{got['process_s']:6.2f} s, ratio {ratio:.2f}x (target >= {target:.1f}x)"
        )
        checks = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in got["checks_s"].items())
        print(f"      its checks: {checks}")
        print(
            f"      CPU seconds (client side; the runtime's are not counted): seed loop {got['seed_cpu_s']:.2f}, "
            f"`python -m verification` {got['process_cpu_s']:.2f}"
        )
        print(
            f"      the prediction check alone, in-process: {got['check_s']:.2f} s "
            f"({got['seed_s'] / got['check_s']:.2f}x the seed loop); the RecordIO-protobuf check alone "
            f"{got['protobuf_s']:.2f} s ({got['seed_s'] / got['protobuf_s']:.2f}x)"
        )
        print(
            f"      largest request: seed {got['seed_largest']} bytes, verifier {got['ours_largest']} bytes "
            f"in {got['ours_requests']} requests (limit {REAL_TIME_BODY_LIMIT}); "
            f"seed's wrong clusters: {got['seed_wrong']}"
        )


if __name__ == "__main__":
    main()
