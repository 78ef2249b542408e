"""A SageMaker training job's input: read once, streamed, before any job starts; then sharded and uploaded.

The pass over the rows (model_build.chunks, C-speed readers, one chunk in memory) counts them, checks every
file has the same feature count, and keeps a uniform sample as the reference rows (reservoir sampling over
chunks). Local files are then uploaded as SageMaker's `ShardedByS3Key` can deal them out: at least one object
per instance (each part as many rows or records as the others, to one), CSV cut at line ends (the bytes as
they were), RecordIO-protobuf cut at record ends, and .npy written as RecordIO-protobuf with the project's
codec. An `s3://` input is read object by object through a
temporary file and used where it is.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from aws_facts.kmeans_training import CSV_CONTENT_TYPE, RECORDIO_CONTENT_TYPE
from model_build.chunks import file_format, input_files, iter_chunks
from model_build.errors import BuildError

CHUNK_ROWS = 65_536
COPY_BYTES = 8 * 2**20
CONTENT_TYPES = {"csv": CSV_CONTENT_TYPE, "recordio": RECORDIO_CONTENT_TYPE, "npy": RECORDIO_CONTENT_TYPE}


class Reservoir:
    """A uniform sample of `size` rows from a stream of chunks (Vitter's algorithm R, a chunk at a time)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seen = 0
        self.rng = np.random.default_rng(seed)
        self.rows: npt.NDArray[np.float32] | None = None

    def add(self, chunk: npt.NDArray[np.float32]) -> None:
        if self.rows is None:
            self.rows = np.empty((0, chunk.shape[1]), dtype=np.float32)
        room = max(0, self.size - len(self.rows))
        if room:
            self.rows = np.concatenate([self.rows, chunk[:room]])
        rest = chunk[room:]
        first = self.seen + room  # the stream index of rest[0]
        if len(rest):
            # Row i of the stream replaces a random slot with probability size / (i + 1); the last writer wins.
            slots = self.rng.integers(0, np.arange(first, first + len(rest)) + 1)
            taken = np.flatnonzero(slots < self.size)
            for index in taken:
                self.rows[slots[index]] = rest[index]
        self.seen += len(chunk)

    def sample(self) -> npt.NDArray[np.float32]:
        assert self.rows is not None, "no rows were added"
        return self.rows


@dataclass(frozen=True)
class Scanned:
    """What one pass over an input found: its rows, features, format and reference sample."""

    where: str
    rows: int
    feature_dim: int
    kind: str  # "csv", "recordio" or "npy"
    sample: npt.NDArray[np.float32]
    objects: int | None = None  # the S3 objects an s3:// input holds (a local one is cut when uploaded)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


def scan_local(path: Path, sample_rows: int, seed: int) -> Scanned:
    """Count, check and sample a local file or folder (every file one format family: CSV, or RecordIO/.npy)."""
    kinds = {file_format(file) for file in input_files(path)}
    if "csv" in kinds and len(kinds) > 1:
        raise BuildError(f"{path}: mixes CSV with {sorted(kinds - {'csv'})[0]} files; a channel takes one content type")
    reservoir = Reservoir(sample_rows, seed)
    for chunk in iter_chunks(path, CHUNK_ROWS):
        reservoir.add(chunk)
    sample = reservoir.sample()
    kind = "csv" if kinds == {"csv"} else ("npy" if "npy" in kinds else "recordio")
    return Scanned(str(path), reservoir.seen, int(sample.shape[1]), kind, sample)


def scan_s3(s3: Any, uri: str, sample_rows: int, seed: int) -> Scanned:
    """The same pass over every object under an `s3://` prefix, each read through one temporary file."""
    bucket, keys = list_objects(s3, uri)
    reservoir = Reservoir(sample_rows, seed)
    kinds: set[str] = set()
    features: int | None = None
    for key in keys:
        with _downloaded(s3, bucket, key) as local:
            kinds.add(file_format(local))
            for chunk in iter_chunks(local, CHUNK_ROWS):
                if features is not None and chunk.shape[1] != features:
                    raise BuildError(
                        f"s3://{bucket}/{key}: rows have {chunk.shape[1]} features, earlier objects {features}"
                    )
                features = chunk.shape[1]
                reservoir.add(chunk)
    if len(kinds) > 1 and "csv" in kinds:
        raise BuildError(f"{uri}: mixes CSV and RecordIO-protobuf objects; a channel takes one content type")
    if "npy" in kinds:
        raise BuildError(f"{uri}: holds .npy objects; SageMaker's k-means reads CSV or RecordIO-protobuf only")
    sample = reservoir.sample()
    return Scanned(uri, reservoir.seen, int(sample.shape[1]), kinds.pop(), sample, len(keys))


def list_objects(s3: Any, uri: str) -> tuple[str, list[str]]:
    """The bucket and the object keys under an `s3://bucket/prefix`; refused when there are none."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise BuildError(f"{uri}: not an s3://bucket/prefix location")
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    ]
    if not keys:
        raise BuildError(f"{uri}: no objects under this prefix")
    return bucket, keys


def delete_prefix(s3: Any, uri: str) -> None:
    """Delete every object under `s3://bucket/prefix/` (what one run uploaded)."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix.rstrip('/')}/"):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])


@contextmanager
def _downloaded(s3: Any, bucket: str, key: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="kmeans-train-input-"))
    try:
        local = folder / "object"
        s3.download_file(bucket, key, str(local))
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload(s3: Any, path: Path, kind: str, parts: int, uri: str) -> str:
    """Cut the local input into at least `parts` objects under the `s3://` prefix `uri`; the prefix."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    files = input_files(path)
    per_file = max(1, math.ceil(parts / len(files)))
    with tempfile.TemporaryDirectory(prefix="kmeans-train-upload-") as staging:
        for index, file in enumerate(files):
            for number, part in enumerate(_parts(file, kind, per_file, Path(staging))):
                key = f"{prefix.rstrip('/')}/part-{index:05d}-{number:05d}.{'csv' if kind == 'csv' else 'pbr'}"
                s3.upload_file(str(part), bucket, key)
                part.unlink()
    return f"s3://{bucket}/{prefix.rstrip('/')}/"


def _parts(file: Path, kind: str, count: int, staging: Path) -> Iterator[Path]:
    if file_format(file) == "npy":
        yield from _npy_as_recordio(file, count, staging)
    elif kind == "csv":
        yield from _cut_csv(file, count, staging)
    else:
        yield from _cut_recordio(file, count, staging)


def _bounds(total: int, count: int) -> list[int]:
    """Where each of at most `count` parts of `total` units ends: as equal as whole units allow, none empty."""
    return sorted({(index + 1) * total // count for index in range(count)} - {0})


class _Parts:
    """Staged part files, one open at a time."""

    def __init__(self, file: Path, staging: Path) -> None:
        self.file, self.staging, self.number = file, staging, 0
        self.sink: IO[bytes] = open(self._path(), "wb")  # noqa: SIM115 - handed from part to part
        self.written = 0

    def _path(self) -> Path:
        return self.staging / f"{self.file.name}.{self.number}"

    def write(self, data: bytes) -> None:
        self.sink.write(data)
        self.written += len(data)

    def next(self) -> Path:
        """Close the current part (returned) and open the next."""
        self.sink.close()
        done = self._path()
        self.number, self.written = self.number + 1, 0
        self.sink = open(self._path(), "wb")  # noqa: SIM115
        return done

    def last(self) -> Iterator[Path]:
        self.sink.close()
        if self.written:
            yield self._path()
        else:
            self._path().unlink()


def _csv_rows(file: Path) -> int:
    """Lines in a CSV file (a last line without its line end counts), counted a block at a time at C speed."""
    rows, last = 0, b"\n"
    with open(file, "rb") as source:
        while block := source.read(COPY_BYTES):
            rows += block.count(b"\n")
            last = block[-1:]
    return rows + (last != b"\n")


def _cut_csv(file: Path, count: int, staging: Path) -> Iterator[Path]:
    """At most `count` parts with equal numbers of rows (to one row), cut at line ends, the bytes as they were:
    a small file still gives one part per instance when it has at least as many rows."""
    ends = _bounds(_csv_rows(file), count)
    parts, done, part = _Parts(file, staging), 0, 0  # rows written in earlier blocks; the part being written
    try:
        with open(file, "rb") as source:
            while block := source.read(COPY_BYTES):
                line_ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
                start = 0
                while part < len(ends) - 1 and ends[part] - done <= len(line_ends):
                    cut = int(line_ends[ends[part] - done - 1]) + 1
                    parts.write(block[start:cut])
                    yield parts.next()
                    start, part = cut, part + 1
                parts.write(block[start:])
                done += len(line_ends)
    finally:
        parts.sink.close()
    yield from parts.last()


def _recordio_records(file: Path) -> int:
    """Records in a RecordIO file, counted from their headers alone."""
    from recordio.framing import count_frames

    with open(file, "rb") as source:
        return count_frames(source)


def _cut_recordio(file: Path, count: int, staging: Path) -> Iterator[Path]:
    """At most `count` parts with equal numbers of records (to one record), each a whole number of records."""
    from recordio.framing import read_frames

    ends = _bounds(_recordio_records(file), count)
    parts, seen, part = _Parts(file, staging), 0, 0
    try:
        with open(file, "rb") as source:
            for record in read_frames(source):
                parts.write(record)
                seen += 1
                if part < len(ends) - 1 and seen == ends[part]:
                    yield parts.next()
                    part += 1
    finally:
        parts.sink.close()
    yield from parts.last()


def _npy_as_recordio(file: Path, count: int, staging: Path) -> Iterator[Path]:
    from recordio.codec import encode_rows

    total = int(np.load(file, mmap_mode="r", allow_pickle=False).shape[0])
    ends = _bounds(total, count)
    parts, seen, part = _Parts(file, staging), 0, 0
    try:
        for chunk in iter_chunks(file, CHUNK_ROWS):
            rest = chunk
            while len(rest):
                room = (ends[part] if part < len(ends) - 1 else total) - seen
                taken, rest = rest[:room], rest[room:]
                parts.write(encode_rows(taken))
                seen += len(taken)
                if part < len(ends) - 1 and seen == ends[part]:
                    yield parts.next()
                    part += 1
    finally:
        parts.sink.close()
    yield from parts.last()
