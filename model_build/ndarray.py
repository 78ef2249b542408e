"""Reader and writer for MXNet's NDArray list file (`mx.nd.save`), without MXNet.

MXNet 1.9.1 cannot be imported beside numpy >= 1.24, so the format is written
here with numpy + struct and cross-checked against real MXNet in its own venv.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from model_build.errors import BuildError

LIST_MAGIC = 0x112
NDARRAY_V1_MAGIC = 0xF993FAC8
NDARRAY_V2_MAGIC = 0xF993FAC9
NDARRAY_V3_MAGIC = 0xF993FACA
DENSE_STORAGE = 0
CPU_DEVICE_TYPE = 1

# MXNet's mshadow type flags, in the order mshadow numbers them.
DTYPE_FLAGS: dict[int, np.dtype[np.generic]] = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
}
FLAG_BY_DTYPE = {dtype: flag for flag, dtype in DTYPE_FLAGS.items()}

_LIST_HEADER = struct.Struct("<QQQ")
_ARRAY_HEADER = struct.Struct("<Iii")
_CONTEXT_AND_DTYPE = struct.Struct("<iii")
_U64 = struct.Struct("<Q")


def encode(arrays: list[npt.NDArray[np.generic]]) -> bytes:
    """Encode arrays exactly as `mx.nd.save(f, arrays)` does for a list (V2, dense, CPU)."""
    parts = [_LIST_HEADER.pack(LIST_MAGIC, 0, len(arrays))]
    parts.extend(_encode_array(array) for array in arrays)
    parts.append(_U64.pack(0))  # a list carries no names
    return b"".join(parts)


def _encode_array(array: npt.NDArray[np.generic]) -> bytes:
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    flag = FLAG_BY_DTYPE.get(data.dtype)
    if flag is None:
        raise BuildError(f"dtype {array.dtype} has no MXNet type flag")
    if data.ndim == 0:
        raise BuildError("MXNet cannot save a 0-dimensional array")
    return b"".join(
        [
            _ARRAY_HEADER.pack(NDARRAY_V2_MAGIC, DENSE_STORAGE, data.ndim),
            struct.pack(f"<{data.ndim}q", *data.shape),
            _CONTEXT_AND_DTYPE.pack(CPU_DEVICE_TYPE, 0, flag),
            data.tobytes(order="C"),
        ]
    )


def save(path: Path, arrays: list[npt.NDArray[np.generic]]) -> None:
    """Write `arrays` to `path` in the NDArray list format."""
    path.write_bytes(encode(arrays))


class _Cursor:
    """Reads little-endian fields from a buffer, failing clearly on truncation."""

    def __init__(self, buffer: bytes, where: str) -> None:
        self.buffer = buffer
        self.offset = 0
        self.where = where

    def take(self, size: int, what: str) -> bytes:
        end = self.offset + size
        if end > len(self.buffer):
            raise BuildError(
                f"{self.where}: truncated at byte {self.offset} while reading {what} "
                f"(needs {size} bytes, {len(self.buffer) - self.offset} left)"
            )
        chunk = self.buffer[self.offset : end]
        self.offset = end
        return chunk

    def unpack(self, layout: struct.Struct, what: str) -> tuple[int, ...]:
        return layout.unpack(self.take(layout.size, what))


def decode(buffer: bytes, where: str = "<bytes>") -> list[npt.NDArray[np.generic]]:
    """Decode an NDArray list file; `where` names the source in error messages."""
    cursor = _Cursor(buffer, where)
    magic, _reserved, count = cursor.unpack(_LIST_HEADER, "the list header")
    if magic != LIST_MAGIC:
        raise BuildError(f"{where}: not an MXNet NDArray file (magic {magic:#x}, expected {LIST_MAGIC:#x})")
    arrays = [_decode_array(cursor, index) for index in range(count)]
    (name_count,) = cursor.unpack(_U64, "the name count")
    if name_count:
        raise BuildError(f"{where}: holds {name_count} named arrays; k-means expects a plain list")
    if cursor.offset != len(buffer):
        raise BuildError(f"{where}: {len(buffer) - cursor.offset} unexpected bytes after the arrays")
    return arrays


def _decode_array(cursor: _Cursor, index: int) -> npt.NDArray[np.generic]:
    what = f"array {index}"
    magic, storage, ndim = cursor.unpack(_ARRAY_HEADER, f"{what} header")
    _check_array_magic(magic, cursor.where, what)
    if storage != DENSE_STORAGE:
        raise BuildError(f"{cursor.where}: {what} has storage type {storage}; only dense (0) is supported")
    if not 1 <= ndim <= 32:
        raise BuildError(f"{cursor.where}: {what} has {ndim} dimensions")
    shape = struct.unpack(f"<{ndim}q", cursor.take(8 * ndim, f"{what} shape"))
    if any(dim < 0 for dim in shape):
        raise BuildError(f"{cursor.where}: {what} has a negative dimension {shape}")
    _device_type, _device_id, flag = cursor.unpack(_CONTEXT_AND_DTYPE, f"{what} context and dtype")
    dtype = DTYPE_FLAGS.get(flag)
    if dtype is None:
        raise BuildError(f"{cursor.where}: {what} has unknown dtype flag {flag}")
    size = int(np.prod(shape)) * dtype.itemsize
    data = cursor.take(size, f"{what} data")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _check_array_magic(magic: int, where: str, what: str) -> None:
    if magic == NDARRAY_V2_MAGIC:
        return
    if magic == NDARRAY_V3_MAGIC:
        raise BuildError(f"{where}: {what} uses NDArray V3 (numpy-shape mode), which legacy MXNet cannot load")
    if magic == NDARRAY_V1_MAGIC:
        raise BuildError(f"{where}: {what} uses NDArray V1 (no storage type); re-save it with MXNet >= 1.0")
    raise BuildError(f"{where}: {what} has magic {magic:#x}, not an NDArray (expected {NDARRAY_V2_MAGIC:#x})")


def load(path: Path) -> list[npt.NDArray[np.generic]]:
    """Read an NDArray list file, failing with one line that names the file."""
    try:
        buffer = path.read_bytes()
    except OSError as error:
        raise BuildError(f"{path}: cannot read ({error.strerror})") from error
    return decode(buffer, str(path))
