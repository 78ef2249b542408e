"""Benchmark: `python -m model_build` against the notebook's recipe, run side by side.

Baseline ("notebook"): scikit-learn `KMeans(n_clusters=10).fit`, then `mx.nd.save` in the
MXNet venv, then `tar czvf` — three processes, as the notebook runs them. Both sides read the
same 60,000 x 784 float32 matrix; quality is compared as inertia on that matrix.
Targets: wall <= 0.8x, peak memory <= 1.0x, inertia within 1%; converting a fitted
k = 10, d = 784 model < 100 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_DIR, MXNET_PYTHON, REPO_ROOT, VENV_PYTHON, Measured, median_measured, run_measured
from model_build import ndarray
from model_build.build import BuildRequest, build
from model_build.packaging import unpack_model
from model_build.sources import import_sklearn_model
from model_build.training import inertia

NOTEBOOK_FIT = (
    "import sys, numpy as np, sklearn.cluster\n"
    "X = np.load(sys.argv[1])\n"
    "np.save(sys.argv[2], sklearn.cluster.KMeans(n_clusters=10).fit(X).cluster_centers_)\n"
)


def mnist_like(rows: int, seed: int) -> npt.NDArray[np.float32]:
    """Ten smooth 28x28 prototypes, each row one of them with per-row contrast and heavy noise."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 28), np.linspace(-1, 1, 28)), -1).reshape(784, 2)
    centres = rng.uniform(-0.6, 0.6, size=(10, 4, 2))
    prototypes = np.exp(-((grid[None, None] - centres[:, :, None]) ** 2).sum(-1) / 0.08).max(axis=1)
    picks = rng.integers(0, 10, size=rows)
    contrast = rng.uniform(0.6, 1.2, size=(rows, 1))
    data = prototypes[picks] * contrast + rng.normal(0, 0.35, size=(rows, 784))
    matrix: npt.NDArray[np.float32] = np.clip(data, 0, 1).astype(np.float32)
    return matrix


def notebook_recipe(data: Path, work: Path) -> Measured:
    fit = run_measured([VENV_PYTHON, "-c", NOTEBOOK_FIT, data, work / "centroids.npy"])
    save = run_measured(
        [MXNET_PYTHON, REPO_ROOT / "scripts" / "mxnet_oracle.py", "save", work / "centroids.npy", work / "model_algo-1"]
    )
    tar = run_measured(["tar", "czvf", "model.tar.gz", "model_algo-1"], cwd=work)
    return fit.then(save).then(tar)


def model_build(data: Path, work: Path) -> Measured:
    return run_measured([VENV_PYTHON, "-m", "model_build", "--dataset", "npy", "--data", data, "--out", work])


def notebook_centroids(work: Path) -> npt.NDArray[np.float32]:
    return ndarray.load(work / "model_algo-1")[0].astype(np.float32)


def built_centroids(work: Path) -> npt.NDArray[np.float32]:
    return ndarray.decode(unpack_model((work / "model.tar.gz").read_bytes(), "model.tar.gz"))[0].astype(np.float32)


def conversion_ms(rows: npt.NDArray[np.float32], work: Path, repeats: int) -> float:
    """In-process: load a fitted k=10, d=784 KMeans and write its artifact, manifest and reference set."""
    from sklearn.cluster import KMeans

    joblib.dump(KMeans(n_clusters=10, n_init=1, random_state=0).fit(rows[:5000]), work / "fitted.joblib")
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        model = import_sklearn_model(work / "fitted.joblib", trust_pickle=True)
        build(BuildRequest(model.centroids, rows[:100], model.source, None, draw_picture=False), work / "out")
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side, interleaved; medians reported")
    parser.add_argument("--write-data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_data:
        np.save(args.write_data, mnist_like(args.rows, seed=7))
        return

    work = BENCH_DIR / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # A child writes the data: Linux keeps a process's peak RSS across fork+exec, so a large
    # parent would inflate every measured child's peak.
    run_measured([VENV_PYTHON, __file__, "--write-data", work / "data.npy", "--rows", str(args.rows)])

    baseline_runs: list[Measured] = []
    ours_runs: list[Measured] = []
    for repeat in range(args.repeats):
        for side, runs in (("notebook", baseline_runs), ("ours", ours_runs)):
            folder = work / f"{side}-{repeat}"
            folder.mkdir()
            runner = notebook_recipe if side == "notebook" else model_build
            runs.append(runner(work / "data.npy", folder))
            print(f"  run {repeat + 1} {side:8s} {runs[-1].wall_s:7.2f} s  {runs[-1].peak_mib:7.1f} MiB", flush=True)
    baseline, ours = median_measured(baseline_runs), median_measured(ours_runs)
    rows = np.load(work / "data.npy")
    baseline_inertia = inertia(rows, notebook_centroids(work / "notebook-0"))
    ours_inertia = inertia(rows, built_centroids(work / "ours-0"))
    convert = conversion_ms(rows, work, repeats=7)

    print(f"\nbuild of {args.rows} x 784 float32, k = 10, median of {args.repeats} runs each")
    for label, measured in (("notebook recipe (fit + mx.nd.save + tar)", baseline), ("python -m model_build", ours)):
        print(f"  {label:42s} {measured.wall_s:7.2f} s  {measured.peak_mib:7.1f} MiB")
    print(f"  wall ratio   ours/notebook = {ours.wall_s / baseline.wall_s:.2f}x   (target <= 0.80x)")
    print(f"  memory ratio ours/notebook = {ours.peak_mib / baseline.peak_mib:.2f}x   (target <= 1.00x)")
    print(f"  inertia ours/notebook      = {ours_inertia / baseline_inertia:.4f}   (target within 1%)")
    print(f"  convert a fitted k=10, d=784 model in-process: {convert:.1f} ms   (target < 100 ms)")


if __name__ == "__main__":
    main()
