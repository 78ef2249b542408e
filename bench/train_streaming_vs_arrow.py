"""Benchmark: streaming training (`python -m model_build --engine streaming`) against Arrow reading the same CSV.

Input: a generated CSV of MNIST-like rows, 784 whole pixel values each (about 2 KB of text a row; 5 GB by
default, about 2.4 million rows), drawn around k = 10 prototypes, streamed to a temporary folder and deleted
afterwards. Baseline: Arrow's streaming CSV reader (`pyarrow.csv.open_csv`) read to the end, every column
float32, in a child process; the faster of Arrow's own threading default and the single-threaded reader the
trainer uses. Measured: the whole build as a user runs it, in a child process (start-up, the k-means++ sample,
one epoch of mini-batches of 5,000 rows, the reservoir sample, the sha256 of the file, the build folder).
Targets: training rows/s >= 0.5x Arrow's; the trainer's peak RSS (getrusage of the child) < 2 GiB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import VENV_PYTHON, Measured, run_measured

FEATURES, CLUSTERS = 784, 10
BLOCK_ROWS = 20_000
THROUGHPUT_TARGET, RSS_TARGET_MIB = 0.5, 2048


def write_csv(path: Path, target_bytes: int, seed: int = 0) -> int:
    """Stream MNIST-like rows to `path` until it holds `target_bytes`; return the row count."""
    rng = np.random.default_rng(seed)
    prototypes = np.where(rng.random((CLUSTERS, FEATURES)) < 0.2, rng.integers(100, 256, (CLUSTERS, FEATURES)), 0)
    rows = written = 0
    with open(path, "wb") as stream:
        while written < target_bytes:
            picks = rng.integers(0, CLUSTERS, BLOCK_ROWS)
            noisy = rng.random((BLOCK_ROWS, FEATURES)) < 0.1
            pixels = np.where(noisy, rng.integers(0, 256, (BLOCK_ROWS, FEATURES)), prototypes[picks]).astype(np.uint8)
            text = orjson.dumps(pixels, option=orjson.OPT_SERIALIZE_NUMPY)[2:-2].replace(b"],[", b"\n") + b"\n"
            written += stream.write(text)
            rows += BLOCK_ROWS
    return rows


ARROW_READ = """
import sys
from pathlib import Path
import pyarrow as pa, pyarrow.csv as csv
from model_build.chunks import open_csv_reader
path, threads = Path(sys.argv[1]), sys.argv[2] == "threads"
if threads:  # Arrow's defaults (threads, 1 MiB blocks), the column types given
    reader = csv.open_csv(path, read_options=csv.ReadOptions(autogenerate_column_names=True),
        convert_options=csv.ConvertOptions(column_types={f"f{i}": pa.float32() for i in range(int(sys.argv[3]))}))
else:  # exactly the reader the trainer uses
    reader = open_csv_reader(path, int(sys.argv[3]), header=False)
rows = sum(batch.num_rows for batch in reader)
assert rows == int(sys.argv[4]), rows
"""


def arrow_read(path: Path, rows: int, threads: bool) -> Measured:
    mode = "threads" if threads else "serial"
    return run_measured([VENV_PYTHON, "-c", ARROW_READ, path, mode, str(FEATURES), str(rows)])


def streaming_build(path: Path, out: Path, batch_size: int) -> Measured:
    command: list[str | Path] = [
        "-m",
        "model_build",
        "--engine",
        "streaming",
        "--data",
        path,
        "--clusters",
        str(CLUSTERS),
    ]
    return run_measured([VENV_PYTHON, *command, "--batch-size", str(batch_size), "--out", out])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=5.0, help="size of the generated CSV (default 5)")
    parser.add_argument("--batch-size", type=int, default=5000, help="mini-batch rows (default 5000)")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the generated CSV (default: the system's)")
    args = parser.parse_args()
    target = int(args.gigabytes * 1e9)
    scratch = Path(tempfile.mkdtemp(prefix="bench-train-streaming-", dir=args.tmp))
    try:
        _check_disk(scratch, target)
        _run(scratch, target, args.batch_size)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_disk(folder: Path, target: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < 1.2 * target:
        raise SystemExit(f"{folder}: {free / 1e9:.1f} GB free, the benchmark needs {1.2 * target / 1e9:.1f} GB")


def _run(scratch: Path, target: int, batch_size: int) -> None:
    path = scratch / "rows.csv"
    started = time.perf_counter()
    rows = write_csv(path, target)
    size = path.stat().st_size
    print(f"generated {rows:,} rows x {FEATURES} ({size / 1e9:.2f} GB) in {time.perf_counter() - started:.0f} s")
    serial, threaded = arrow_read(path, rows, threads=False), arrow_read(path, rows, threads=True)
    arrow = min(serial, threaded, key=lambda measured: measured.wall_s)
    trained = streaming_build(path, scratch / "build", batch_size)
    arrow_rate, train_rate = rows / arrow.wall_s, rows / trained.wall_s
    print(
        f"Arrow open_csv to the end: {rows / serial.wall_s:,.0f} rows/s serial, {rows / threaded.wall_s:,.0f} threaded"
    )
    print(f"streaming training: {train_rate:,.0f} rows/s ({trained.wall_s:.1f} s), peak RSS {trained.peak_mib:.0f} MiB")
    print(f"throughput ratio {train_rate / arrow_rate:.2f}x of Arrow's read (target >= {THROUGHPUT_TARGET}x)")
    memory = trained.peak_mib / RSS_TARGET_MIB
    print(f"memory ratio {memory:.2f}x of 2 GiB (target < 1.0x; the file: {size / 2**20:,.0f} MiB)")


if __name__ == "__main__":
    main()
