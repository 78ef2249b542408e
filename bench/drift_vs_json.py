"""The drift monitor on a day of captured traffic against a loop that only `orjson.loads` every capture line.

Generates capture files as the local runtime writes them (local_aws.runtime.capture.capture_record; 100-row CSV
requests, the runtime's JSON answers, 1,000 records an object) for a model built on the bundled digits, then runs,
each in its own process over the same files: the baseline (read every line, `orjson.loads` it, nothing else) and
the monitor's reading path (monitoring.reading over the local folder, as the processing job runs it: every line
walked, every answer read, one request in ten parsed for the features, the report computed). Prints rows/s of each,
the ratio (target >= 0.5x) and each process's peak RSS (the monitor's must stay flat as the files grow).

    python bench/drift_vs_json.py                       # 1,000,000 rows: 10,000 records of 100 rows
    python bench/drift_vs_json.py --records 1000000     # a million records (100 million rows, ~27 GB on disk)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO_ROOT
from local_aws.kmeans import KMeansPredictor
from local_aws.runtime.capture import Exchange, capture_record
from model_build.cli import main as build_model
from model_build.manifest import ARTIFACT_NAME
from wire.answers import encode_answers
from wire.media_types import CSV, JSON
from wire.requests import encode_request

ENDPOINT, VARIANT = "bench-endpoint", "AllTraffic"
CONFIG = {
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": [CSV], "JsonContentTypes": [JSON]},
}
RECORDS_PER_OBJECT = 1000
START = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)

BASELINE_LOOP = """
import sys, time, orjson
from pathlib import Path
started = time.perf_counter()
lines = 0
for path in sorted(Path(sys.argv[1]).rglob("*.jsonl")):
    with open(path, "rb") as stream:
        for line in stream:
            orjson.loads(line)
            lines += 1
print(time.perf_counter() - started, lines)
"""

MONITOR = """
import sys, time, json
from pathlib import Path
from monitoring.processing import analyse_folder
started = time.perf_counter()
report = analyse_folder(Path(sys.argv[1]), Path(sys.argv[2]), endpoint=sys.argv[3], variant=sys.argv[4], window=None)
print(time.perf_counter() - started, report["rows"], report["feature_rows"], report["verdict"].replace(" ", "_"))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="capture records (default 10,000)")
    parser.add_argument("--rows-per-request", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as temporary:
        work = args.keep or Path(temporary)
        build = work / "build"
        capture = work / "capture"
        if not (build / ARTIFACT_NAME).exists():
            build_model(["--out", str(build)])
        if not capture.exists():
            generate(build, capture, args.records, args.rows_per_request)
        size = sum(path.stat().st_size for path in capture.rglob("*.jsonl"))
        print(f"capture files: {args.records:,} records of {args.rows_per_request} rows, {size / 2**20:,.0f} MiB")
        (json_s, lines), json_peak = timed([sys.executable, "-c", BASELINE_LOOP, str(capture)])
        (monitor_s, rows, feature_rows, verdict), monitor_peak = timed(
            [sys.executable, "-c", MONITOR, str(capture), str(build), ENDPOINT, VARIANT]
        )
    rows_total = int(lines) * args.rows_per_request
    assert int(rows) == rows_total, f"the monitor read {rows} rows of {rows_total}"
    json_rate, monitor_rate = rows_total / float(json_s), int(rows) / float(monitor_s)
    print(f"orjson.loads every line: {float(json_s):.2f} s, {json_rate:,.0f} rows/s, peak RSS {json_peak:.0f} MiB")
    print(
        f"monitor (every answer, features of {int(feature_rows):,} rows, verdict {verdict}): {float(monitor_s):.2f} s, "
        f"{monitor_rate:,.0f} rows/s, peak RSS {monitor_peak:.0f} MiB"
    )
    print(f"ratio: {monitor_rate / json_rate:.2f}x the orjson loop's rows/s (target >= 0.5x)")


def generate(build: Path, capture: Path, records: int, rows_per_request: int) -> None:
    """Capture objects of RECORDS_PER_OBJECT records each, one a minute, in the runtime's record format."""
    predictor = KMeansPredictor.from_artifact((build / ARTIFACT_NAME).read_bytes(), ARTIFACT_NAME)
    digits = load_digits().data.astype(np.float32)
    rng = np.random.default_rng(0)
    for start in range(0, records, RECORDS_PER_OBJECT):
        when = START + dt.timedelta(minutes=start // RECORDS_PER_OBJECT)
        folder = capture / ENDPOINT / VARIANT / when.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for _ in range(min(RECORDS_PER_OBJECT, records - start)):
            rows = digits[rng.integers(0, len(digits), rows_per_request)]
            predictions = predictor.predict(rows)
            answer = encode_answers(predictions.closest_cluster, predictions.distance_to_cluster, JSON)
            exchange = Exchange(ENDPOINT, VARIANT, CSV, encode_request(rows, CSV), JSON, answer)
            lines.append(json.dumps(capture_record(CONFIG, exchange, when)))
        name = f"{when.strftime('%M-%S-%f')[:-3]}-{uuid.UUID(int=start)}.jsonl"
        (folder / name).write_text("\n".join(lines) + "\n")


def timed(command: list[str]) -> tuple[list[str], float]:
    """The command's printed figures and its peak RSS in MiB."""
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": "."})
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:2]} failed")
    return output.split(), usage.ru_maxrss / 1024


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
