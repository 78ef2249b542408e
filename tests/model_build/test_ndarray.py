"""The NDArray codec against golden files written by real MXNet 1.9.1, and its refusals."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model_build import ndarray
from model_build.errors import BuildError

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
GOLDEN_CASES = sorted(path.name.removesuffix(".mxnet") for path in GOLDEN.glob("*.mxnet"))


def test_golden_files_are_present() -> None:
    assert len(GOLDEN_CASES) >= 4


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_encoding_matches_mxnet_byte_for_byte(case: str) -> None:
    source = np.load(GOLDEN / f"{case}.input.npy")
    # mx.nd.array casts to float32, as the k-means container expects.
    ours = ndarray.encode([source.astype(np.float32)])
    assert ours == (GOLDEN / f"{case}.mxnet").read_bytes()


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_decoding_mxnet_files_gives_the_saved_array(case: str) -> None:
    (decoded,) = ndarray.load(GOLDEN / f"{case}.mxnet")
    expected = np.load(GOLDEN / f"{case}.input.npy").astype(np.float32)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, expected)


def test_mnist_sized_file_has_the_documented_layout() -> None:
    centroids = np.arange(10 * 784, dtype=np.float32).reshape(10, 784)
    encoded = ndarray.encode([centroids])
    assert len(encoded) == 31_432
    assert encoded[24:28] == bytes.fromhex("c9fa93f9")
    assert np.frombuffer(encoded[64 : 64 + 31_360], dtype="<f4").tolist() == centroids.ravel().tolist()


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.uint8, np.int32, np.int8, np.int64])
def test_other_dtypes_round_trip(dtype: type) -> None:
    array: np.ndarray[Any, Any] = np.arange(6, dtype=dtype).reshape(2, 3)
    (decoded,) = ndarray.decode(ndarray.encode([array]))
    assert decoded.dtype == array.dtype
    np.testing.assert_array_equal(decoded, array)


def _valid() -> bytes:
    return ndarray.encode([np.ones((2, 3), dtype=np.float32)])


def _with_array_magic(magic: int) -> bytes:
    data = bytearray(_valid())
    data[24:28] = struct.pack("<I", magic)
    return bytes(data)


@pytest.mark.parametrize(
    ("buffer", "message"),
    [
        (b"", "truncated at byte 0 while reading the list header"),
        (_valid()[:-9], "truncated at byte 64 while reading array 0 data"),
        (_valid()[:40], "truncated at byte 36 while reading array 0 shape"),
        (b"PK\x03\x04" + bytes(40), "not an MXNet NDArray file"),
        (_with_array_magic(ndarray.NDARRAY_V3_MAGIC), "uses NDArray V3"),
        (_with_array_magic(ndarray.NDARRAY_V1_MAGIC), "uses NDArray V1"),
        (_with_array_magic(0xDEADBEEF), "magic 0xdeadbeef, not an NDArray"),
        (_valid()[:28] + struct.pack("<i", 1) + _valid()[32:], "storage type 1; only dense"),
        (_valid()[:60] + struct.pack("<i", 9) + _valid()[64:], "unknown dtype flag 9"),
        (_valid() + b"\x00", "1 unexpected bytes after the arrays"),
        (_valid()[:-8] + struct.pack("<Q", 1), "holds 1 named arrays"),
    ],
)
def test_reader_refuses_broken_or_foreign_files(buffer: bytes, message: str) -> None:
    with pytest.raises(BuildError, match=r"^model_algo-1: ") as raised:
        ndarray.decode(buffer, "model_algo-1")
    assert message in str(raised.value)


def test_reader_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"absent: cannot read \(No such file or directory\)"):
        ndarray.load(tmp_path / "absent")
