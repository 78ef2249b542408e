"""Rows to request bodies in each content type, in batches that stay under the payload limit."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recordio.codec import decode_predictions, encode_rows

CSV = "text/csv"
JSON = "application/json"
PROTOBUF = "application/x-recordio-protobuf"
CONTENT_TYPES = (CSV, JSON, PROTOBUF)
REAL_TIME_LIMIT = 6 * 1024 * 1024
SERVERLESS_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Batch:
    """Rows [start, stop) of the reference set as one request body."""

    start: int
    stop: int
    body: bytes


@dataclass(frozen=True)
class Encoding:
    """How one content type frames rows: each row's bytes, and what wraps and joins them."""

    content_type: str
    row: Callable[[npt.NDArray[np.float32]], bytes]
    prefix: bytes
    separator: bytes
    suffix: bytes

    def wrap(self, parts: list[bytes]) -> bytes:
        return self.prefix + self.separator.join(parts) + self.suffix

    def overhead(self, count: int) -> int:
        return len(self.prefix) + len(self.suffix) + len(self.separator) * max(count - 1, 0)


@functools.cache
def _row_format(width: int) -> str:
    # 9 significant digits identify every float32 exactly; one format per row keeps it at C speed.
    return ",".join(["%.9g"] * width)


def full_precision(row: npt.NDArray[np.float32]) -> str:
    """The row as comma-separated numbers that parse back to exactly the same float32 values."""
    return _row_format(len(row)) % tuple(row.tolist())


ENCODINGS = {
    CSV: Encoding(CSV, lambda row: full_precision(row).encode(), b"", b"\n", b""),
    JSON: Encoding(
        JSON,
        lambda row: ('{"features":[' + full_precision(row) + "]}").encode(),
        b'{"instances":[',
        b",",
        b"]}",
    ),
    PROTOBUF: Encoding(PROTOBUF, lambda row: encode_rows(row[None, :]), b"", b"", b""),
}


def batches(rows: npt.NDArray[np.float32], content_type: str, limit: int) -> Iterator[Batch]:
    """Greedy batches: as many consecutive rows as fit under `limit` bytes (a lone row must fit)."""
    encoding = ENCODINGS[content_type]
    parts: list[bytes] = []
    start = size = 0
    for index, row in enumerate(rows):
        part = encoding.row(row)
        if parts and size + len(part) + encoding.overhead(len(parts) + 1) > limit:
            yield Batch(start, index, encoding.wrap(parts))
            parts, start, size = [], index, 0
        parts.append(part)
        size += len(part)
        if size + encoding.overhead(len(parts)) > limit:
            raise ValueError(f"row {index} alone is {len(part)} bytes, over the {limit}-byte payload limit")
    if parts:
        yield Batch(start, len(rows), encoding.wrap(parts))


def parse_response(content_type: str, body: bytes) -> tuple[list[float], list[float]]:
    """(closest_cluster, distance_to_cluster) from a response in `content_type`."""
    if content_type.split(";", maxsplit=1)[0].strip() == PROTOBUF:
        return decode_predictions(body)
    predictions = json.loads(body)["predictions"]
    return [p["closest_cluster"] for p in predictions], [p["distance_to_cluster"] for p in predictions]
