"""Request bodies: rows of features to CSV, JSON, JSON Lines or RecordIO-protobuf, and back.

Writers batch rows under a payload limit (the verifier's and the benchmarks' requests); readers are the
container's (the local AWS's runtime and transform engine), refusing with PayloadError what it cannot evaluate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from recordio.codec import RecordError, decode_rows, densify, encode_rows
from wire import portable
from wire.errors import PayloadError, UnsupportedMediaTypeError
from wire.float32_text import csv_lines
from wire.media_types import CSV, JSON, JSONLINES, PROTOBUF, REQUEST_TYPES, media_type


@dataclass(frozen=True)
class Batch:
    """Rows [start, stop) of the reference set as one request body."""

    start: int
    stop: int
    body: bytes


@dataclass(frozen=True)
class Encoding:
    """How one content type frames rows: each row's bytes (a block of rows at a time), what wraps and joins them."""

    content_type: str
    rows: Callable[[npt.NDArray[np.float32]], list[bytes]]
    prefix: bytes
    separator: bytes
    suffix: bytes

    def wrap(self, parts: list[bytes]) -> bytes:
        return self.prefix + self.separator.join(parts) + self.suffix

    def overhead(self, count: int) -> int:
        return len(self.prefix) + len(self.suffix) + len(self.separator) * max(count - 1, 0)


def _json_rows(rows: npt.NDArray[np.float32]) -> list[bytes]:
    return [b'{"features":[' + line + b"]}" for line in csv_lines(rows)]


def _protobuf_rows(rows: npt.NDArray[np.float32]) -> list[bytes]:
    return [encode_rows(row[None, :]) for row in rows]


ENCODINGS = {
    CSV: Encoding(CSV, csv_lines, b"", b"\n", b""),
    JSON: Encoding(JSON, _json_rows, b'{"instances":[', b",", b"]}"),
    JSONLINES: Encoding(JSONLINES, _json_rows, b"", b"\n", b""),
    PROTOBUF: Encoding(PROTOBUF, _protobuf_rows, b"", b"", b""),
}
ROWS_PER_BLOCK = 512  # rows encoded together: C speed, and memory bounded whatever the reference size


def encode_request(rows: npt.NDArray[np.float32], content_type: str) -> bytes:
    """All `rows` as one request body, every float32 exact."""
    encoding = ENCODINGS[content_type]
    return encoding.wrap(list(_row_parts(rows, encoding)))


def batches(rows: npt.NDArray[np.float32], content_type: str, limit: int) -> Iterator[Batch]:
    """Greedy batches: as many consecutive rows as fit under `limit` bytes (a lone row must fit)."""
    encoding = ENCODINGS[content_type]
    parts: list[bytes] = []
    start = size = 0
    for index, part in enumerate(_row_parts(rows, encoding)):
        if parts and size + len(part) + encoding.overhead(len(parts) + 1) > limit:
            yield Batch(start, index, encoding.wrap(parts))
            parts, start, size = [], index, 0
        parts.append(part)
        size += len(part)
        if size + encoding.overhead(len(parts)) > limit:
            raise ValueError(f"row {index} alone is {len(part)} bytes, over the {limit}-byte payload limit")
    if parts:
        yield Batch(start, len(rows), encoding.wrap(parts))


def _row_parts(rows: npt.NDArray[np.float32], encoding: Encoding) -> Iterator[bytes]:
    for start in range(0, len(rows), ROWS_PER_BLOCK):
        yield from encoding.rows(rows[start : start + ROWS_PER_BLOCK])


def read_request(content_type: str | None, body: bytes) -> npt.NDArray[np.float32]:
    """Rows of features from a request body, as the container reads it; PayloadError if it cannot."""
    kind = media_type(content_type)
    reader = _READERS.get(kind)
    if reader is None:
        raise UnsupportedMediaTypeError(f"content type {kind or '(none)'} is not one of {', '.join(REQUEST_TYPES)}")
    return reader(body)


# Arrow pays ~10 ms per request for its 784 column parsers; np.loadtxt is faster below this size.
ARROW_MIN_BYTES = 256 * 1024


def read_csv(body: bytes) -> npt.NDArray[np.float32]:
    """Each value to the nearest float64, then float32 (exact either way); big bodies by Arrow's C++ reader."""
    return read_csv_arrow(body) if len(body) >= ARROW_MIN_BYTES else read_csv_numpy(body)


# Small bodies: the dependency-light reader the monitor's job also uses, one home.
read_csv_numpy = portable.read_csv


def read_csv_arrow(body: bytes) -> npt.NDArray[np.float32]:
    """C++ speed with the GIL released, so concurrent requests parse side by side (wire.arrow_readers)."""
    from wire import arrow_readers  # only the container's side reads big CSV bodies: writers never import pyarrow

    return arrow_readers.read_csv_arrow(body)


def read_json(body: bytes) -> npt.NDArray[np.float32]:
    try:
        instances = json.loads(body)["instances"]
        rows = [_instance_features(instance) for instance in instances]
        return np.array(rows, dtype=np.float32)
    except (ValueError, KeyError, TypeError) as error:
        raise PayloadError(f"malformed JSON request: {error}") from error


def read_jsonlines(body: bytes) -> npt.NDArray[np.float32]:
    """One instance per line: `{"features": [...]}` or `{"data": {"features": {...}}}`."""
    try:
        rows = [_instance_features(json.loads(line)) for line in body.splitlines() if line.strip()]
        return np.array(rows, dtype=np.float32)
    except (ValueError, KeyError, TypeError) as error:
        raise PayloadError(f"malformed JSON Lines request: {error}") from error


def _instance_features(instance: dict[str, Any]) -> list[float]:
    """Dense `features`, or `data.features` with `values` and, for a sparse row, `keys` and `shape`."""
    if "features" in instance:
        features: list[float] = instance["features"]
        return features
    tensor = instance["data"]["features"]
    if "keys" in tensor:
        try:
            return densify(tensor["keys"], tensor["shape"], tensor["values"])
        except RecordError as error:
            raise ValueError(str(error)) from error
    values: list[float] = tensor["values"]
    return values


def read_protobuf(body: bytes) -> npt.NDArray[np.float32]:
    try:
        return decode_rows(body)
    except RecordError as error:
        raise PayloadError(f"malformed RecordIO-protobuf: {error}") from error


_READERS: dict[str, Callable[[bytes], npt.NDArray[np.float32]]] = {
    CSV: read_csv,
    JSON: read_json,
    JSONLINES: read_jsonlines,
    PROTOBUF: read_protobuf,
}
