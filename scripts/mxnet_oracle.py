"""Real MXNet 1.9.1 as the byte-compatibility oracle; runs only in .venv-mxnet.

golden DIR              write golden NDArray files (and their inputs) with mx.nd.save
check MODEL_FILE NPY    load MODEL_FILE with mx.nd.load and compare it to NPY exactly
save NPY MODEL_FILE     the notebook's recipe: mx.nd.save(MODEL_FILE, [mx.nd.array(NPY)])
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import mxnet as mx  # type: ignore[import-not-found, unused-ignore]
import numpy as np

# Each case: (name, array fed to mx.nd.array). mx.nd.array casts float64 to float32.
GOLDEN_CASES: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "mnist_like_10x784": lambda rng: rng.random((10, 784), dtype=np.float32),
    "digits_like_float64_10x64": lambda rng: rng.random((10, 64)) * 16.0,
    "single_centroid_1x3": lambda rng: np.array([[1.5, -2.0, 3.25]], dtype=np.float32),
    "extremes_2x4": lambda rng: np.array(
        [[np.finfo(np.float32).max, -0.0, 1e-45, -1.0], [np.finfo(np.float32).min, 0.0, 1.0, 2.0]],
        dtype=np.float32,
    ),
}


def write_golden(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20221)
    for name, make in GOLDEN_CASES.items():
        source = make(rng)
        np.save(out_dir / f"{name}.input.npy", source)
        mx.nd.save(str(out_dir / f"{name}.mxnet"), [mx.nd.array(source)])
        print(f"wrote {name}: shape {source.shape}, {source.dtype}")


def check(model_file: Path, expected_npy: Path) -> int:
    loaded = mx.nd.load(str(model_file))
    if not isinstance(loaded, list) or len(loaded) != 1:
        print(f"FAIL: {model_file} holds {type(loaded).__name__} of {len(loaded)}, expected a list of 1 array")
        return 1
    actual = loaded[0].asnumpy()
    expected = np.load(expected_npy)
    if actual.dtype != np.float32 or actual.shape != expected.shape or not np.array_equal(actual, expected):
        print(f"FAIL: {model_file} loads as {actual.dtype} {actual.shape}, expected float32 {expected.shape}")
        return 1
    print(f"OK: MXNet {mx.__version__} loads {model_file} as float32 {actual.shape}, equal to {expected_npy}")
    return 0


def save(source_npy: Path, model_file: Path) -> None:
    mx.nd.save(str(model_file), [mx.nd.array(np.load(source_npy))])


def main(argv: list[str]) -> int:
    command, *paths = argv
    if command == "golden":
        write_golden(Path(paths[0]))
        return 0
    if command == "check":
        return check(Path(paths[0]), Path(paths[1]))
    if command == "save":
        save(Path(paths[0]), Path(paths[1]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
