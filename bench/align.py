"""Benchmark: aligning retrained centroids, and comparing two models, against in-process floors.

Align: k = 1,000 centroids of 784 features, the new fit a shuffled, perturbed copy of the old
(target < 1 s). Compare: `model_build.comparison.compare_models` on 100,000 x 784 rows against
the floor of two plain numpy argmins over the same rows (target >= 0.5x the floor's speed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_build.alignment import align
from model_build.comparison import compare_models

FEATURES = 784
ALIGN_TARGET_S = 1.0
COMPARE_TARGET = 0.5


def floor_labels(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
    """The floor: one BLAS product and an argmin, nothing else."""
    labels: npt.NDArray[np.intp] = np.argmin((centroids**2).sum(axis=1) - 2.0 * (rows @ centroids.T), axis=1)
    return labels


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=1000, help="k for the alignment (default 1000)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the comparison (default 100000)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(7)

    old = rng.random((args.clusters, FEATURES), dtype=np.float32)
    new = old[rng.permutation(args.clusters)] + rng.normal(0, 0.01, old.shape).astype(np.float32)
    align_s = min(timed(lambda: align(new, old)) for _ in range(args.repeats))
    print(f"align k={args.clusters} x {FEATURES}: {align_s:.3f} s (target < {ALIGN_TARGET_S:.0f} s)")

    models = rng.random((10, FEATURES), dtype=np.float32)
    retrained = models[::-1] + rng.normal(0, 0.02, models.shape).astype(np.float32)
    rows = rng.random((args.rows, FEATURES), dtype=np.float32)
    floor_times, compare_times = [], []
    for _ in range(args.repeats):  # interleaved, best of each: both sides see the same machine
        floor_times.append(timed(lambda: (floor_labels(rows, models), floor_labels(rows, retrained))))
        compare_times.append(timed(lambda: compare_models(models, retrained, rows)))
    floor_s, compare_s = min(floor_times), min(compare_times)
    ratio = floor_s / compare_s
    print(
        f"compare {args.rows} rows x {FEATURES}: floor (two argmins) {args.rows / floor_s:,.0f} rows/s, "
        f"compare {args.rows / compare_s:,.0f} rows/s, ratio {ratio:.2f}x (target >= {COMPARE_TARGET}x)"
    )


if __name__ == "__main__":
    main()
