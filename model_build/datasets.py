"""Loaders for the training rows: bundled digits, MNIST (IDX, pickle, OpenML), .npy and .csv."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_build.errors import BuildError
from model_build.validation import as_float32_matrix

DATASETS = ("digits", "mnist-idx", "mnist-pkl", "npy", "csv", "openml-mnist")
NEEDS_DATA_PATH = frozenset({"mnist-idx", "mnist-pkl", "npy", "csv"})
IDX_UBYTE_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (images, rows, columns)
IDX_IMAGE_NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte")
PIXEL_SCALE = 255.0  # MNIST's pickle and OpenML copies hold pixels scaled to [0, 1]


@dataclass(frozen=True)
class Dataset:
    """Training rows plus a JSON-ready description of where they came from."""

    rows: npt.NDArray[np.float32]
    source: dict[str, Any]


def load_dataset(name: str, data: Path | None, max_rows: int | None) -> Dataset:
    """Load dataset `name` (one of DATASETS), keeping at most `max_rows` leading rows."""
    if name in NEEDS_DATA_PATH and data is None:
        raise BuildError(f"--dataset {name} needs --data PATH")
    loader = _LOADERS[name]
    where = str(data) if data is not None else name
    rows = as_float32_matrix(loader(data), where, "training rows")
    total = rows.shape[0]
    if max_rows is not None:
        rows = np.ascontiguousarray(rows[:max_rows])
    source = {"kind": "dataset", "dataset": name, "path": str(data) if data else None, "rows": rows.shape[0]}
    return Dataset(rows=rows, source=source | {"rows_available": total})


def _load_digits(_: Path | None) -> npt.NDArray[Any]:
    from sklearn.datasets import load_digits

    digits: npt.NDArray[Any] = load_digits().data
    return digits


def _load_npy(path: Path | None) -> npt.NDArray[Any]:
    assert path is not None
    try:
        loaded: npt.NDArray[Any] = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise BuildError(f"{path}: cannot read as .npy ({_reason(error)})") from error
    return loaded


def _load_csv(path: Path | None) -> npt.NDArray[Any]:
    assert path is not None
    try:
        with warnings.catch_warnings():
            # An empty file warns, then fails validation with a clearer one-line message.
            warnings.simplefilter("ignore", UserWarning)
            return np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as error:
        raise BuildError(f"{path}: cannot read as numeric CSV ({_reason(error)})") from error


def load_matrix_file(path: Path) -> npt.NDArray[Any]:
    """Read a .npy or .csv file as an array, unvalidated; other suffixes are refused."""
    readers = {".npy": _load_npy, ".csv": _load_csv}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise BuildError(f"{path}: expected a .npy or .csv file")
    return reader(path)


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _open_maybe_gzip(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    if is_gzip:
        return gzip.GzipFile(path, "rb")
    return open(path, "rb")


def _load_mnist_idx(folder: Path | None) -> npt.NDArray[Any]:
    assert folder is not None
    path = _find_idx_images(folder)
    try:
        with _open_maybe_gzip(path) as stream:
            buffer = stream.read()
    except (OSError, EOFError) as error:
        raise BuildError(f"{path}: cannot read ({_reason(error)})") from error
    return _decode_idx_images(buffer, path) / np.float32(PIXEL_SCALE)


def _find_idx_images(folder: Path) -> Path:
    if not folder.is_dir():
        raise BuildError(f"{folder}: not a folder holding MNIST IDX files")
    for name in IDX_IMAGE_NAMES:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise BuildError(f"{folder}: holds no {IDX_IMAGE_NAMES[0]} (or .gz)")


def _decode_idx_images(buffer: bytes, path: Path) -> npt.NDArray[np.float32]:
    if len(buffer) < 16:
        raise BuildError(f"{path}: too short for an IDX header ({len(buffer)} bytes)")
    magic, count, height, width = struct.unpack(">IIII", buffer[:16])
    if magic != IDX_UBYTE_MAGIC:
        raise BuildError(f"{path}: IDX magic {magic:#010x}, expected {IDX_UBYTE_MAGIC:#010x} (3-D unsigned bytes)")
    expected = 16 + count * height * width
    if len(buffer) != expected:
        raise BuildError(f"{path}: {len(buffer)} bytes, expected {expected} for {count}x{height}x{width} images")
    pixels = np.frombuffer(buffer, dtype=np.uint8, offset=16)
    return pixels.reshape(count, height * width).astype(np.float32)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers, nothing that can run code."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("copy_reg", "_reconstructor"),
            ("copyreg", "_reconstructor"),
            ("__builtin__", "object"),
            ("builtins", "object"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return super().find_class(module, name)


def _load_mnist_pkl(path: Path | None) -> npt.NDArray[Any]:
    assert path is not None
    try:
        with _open_maybe_gzip(path) as stream:
            content = _ArraysOnlyUnpickler(stream, encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as error:
        raise BuildError(f"{path}: cannot read as the MNIST pickle ({_reason(error)})") from error
    return _train_images(content, path)


def _train_images(content: Any, path: Path) -> npt.NDArray[Any]:
    # The notebook's file: (train, valid, test), each an (images, labels) pair.
    try:
        images = content[0][0]
    except (TypeError, IndexError, KeyError) as error:
        raise BuildError(f"{path}: expected a (train, valid, test) tuple of (images, labels) pairs") from error
    if not isinstance(images, np.ndarray):
        raise BuildError(f"{path}: train images are {type(images).__name__}, expected a numpy array")
    return images


def _load_openml_mnist(data_home: Path | None) -> npt.NDArray[Any]:
    from sklearn.datasets import fetch_openml

    try:
        bunch = fetch_openml(
            "mnist_784", version=1, as_frame=False, parser="liac-arff", data_home=data_home, n_retries=1
        )
    except (OSError, ValueError) as error:
        raise BuildError(f"openml mnist_784: cannot fetch ({_reason(error)}); it needs network or a cache") from error
    return np.asarray(bunch.data) / PIXEL_SCALE


_LOADERS: dict[str, Callable[[Path | None], npt.NDArray[Any]]] = {
    "digits": _load_digits,
    "mnist-idx": _load_mnist_idx,
    "mnist-pkl": _load_mnist_pkl,
    "npy": _load_npy,
    "csv": _load_csv,
    "openml-mnist": _load_openml_mnist,
}
