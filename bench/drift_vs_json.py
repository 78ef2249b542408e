"""The drift monitor on a day of captured traffic against a loop that only `orjson.loads` every capture line.

Generates capture files as the local runtime writes them (local_aws.runtime.capture.capture_record; 100-row CSV
requests, the runtime's JSON answers, 1,000 records an object) for a model built on the bundled digits, then runs,
each in its own process over the same files, interleaved, best of three each: the baseline (read every line,
`orjson.loads` it, nothing else) and the monitor over the local folder (monitoring.processing.analyse_folder: every
line read, every answer's numbers parsed, the features of one request in twenty, the report computed; the code
`python -m monitoring drift` and the processing job share), once with one worker process per CPU, as the job runs
it, and once in one process. Prints rows/s of each, the ratios (target >= 0.5x, for the job's way) and each
process's own peak RSS (VmHWM: flat as the files grow, since nothing is held whole).

    python bench/drift_vs_json.py                       # 100,000 records of 100 rows: 10 million rows (2.1 GB)
    python bench/drift_vs_json.py --records 1000000     # a million records (100 million rows, ~21 GB on disk)

The default keeps the files in the page cache of a 24 GiB machine, so both sides measure parsing, not the disk.
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
ROUNDS = 3
START = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)

PEAK = """
import resource
def peak_mib():
    # VmHWM: this process's own peak resident set (ru_maxrss would count the parent's pages from before exec);
    # with worker processes, the largest of theirs if larger (each holds its own batch)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            own = int(line.split()[1]) / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

BASELINE_LOOP = (
    PEAK
    + """
import sys, time, orjson
from pathlib import Path
started = time.perf_counter()
lines = 0
for path in sorted(Path(sys.argv[1]).rglob("*.jsonl")):
    with open(path, "rb") as stream:
        for line in stream:
            orjson.loads(line)
            lines += 1
print(time.perf_counter() - started, lines, peak_mib())
"""
)

MONITOR = (
    PEAK
    + """
import sys, time
from pathlib import Path
from monitoring.processing import analyse_folder
started = time.perf_counter()
report = analyse_folder(
    Path(sys.argv[1]), Path(sys.argv[2]), endpoint=sys.argv[3], variant=sys.argv[4], window=None,
    workers=int(sys.argv[5]),
)
verdict = report["verdict"].replace(" ", "_")
print(time.perf_counter() - started, report["rows"], report["feature_rows"], verdict, peak_mib())
"""
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="capture records (default 100,000)")
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
        # Interleaved, best of ROUNDS each: the machine's other load moves every figure, the best is the code's own.
        workers = {"job": os.cpu_count() or 1, "one": 1}
        runs: dict[str, list[list[str]]] = {"json": [], "job": [], "one": []}
        for _ in range(ROUNDS):
            runs["json"].append(timed([sys.executable, "-c", BASELINE_LOOP, str(capture)]))
            for path, count in workers.items():
                runs[path].append(
                    timed([sys.executable, "-c", MONITOR, str(capture), str(build), ENDPOINT, VARIANT, str(count)])
                )
        json_s, lines, json_peak = min(runs["json"], key=lambda run: float(run[0]))
        monitors = {path: min(runs[path], key=lambda run: float(run[0])) for path in workers}
    rows_total = int(lines) * args.rows_per_request
    json_rate = rows_total / float(json_s)
    print(
        f"orjson.loads every line: {float(json_s):.2f} s, {json_rate:,.0f} rows/s, peak RSS {float(json_peak):.0f} MiB"
    )
    for path, (seconds, rows, feature_rows, verdict, peak) in monitors.items():
        assert int(rows) == rows_total, f"the monitor read {rows} rows of {rows_total}"
        rate = int(rows) / float(seconds)
        print(
            f"monitor, {PATHS[path].format(workers=workers[path])}:\n"
            f"    {float(seconds):.2f} s, {rate:,.0f} rows/s, peak RSS {float(peak):.0f} MiB "
            f"(every answer; features of {int(feature_rows):,} rows; verdict {verdict})"
        )
        target = " (target >= 0.5x)" if path == "job" else " (for comparison: one core against one)"
        print(f"  ratio: {rate / json_rate:.2f}x the orjson loop's rows/s{target}")


PATHS = {
    "job": "as the processing job runs it ({workers} worker processes, one per CPU)",
    "one": "in one process",
}


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


def timed(command: list[str]) -> list[str]:
    """What the command printed: its seconds, its counts, its peak RSS in MiB."""
    result = subprocess.run(
        command, check=False, cwd=REPO_ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": "."}
    )
    if result.returncode != 0:
        raise SystemExit(f"{command[:2]} failed: {result.stderr[-2000:]}")
    return result.stdout.split()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
