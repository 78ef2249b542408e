"""A training channel's objects as batches of float32 rows, read in bounded chunks at C speed.

Content types as the k-means algorithm takes them (developer guide "K-Means Algorithm": RecordIO-protobuf or
CSV; "Common Data Formats for Training": CSV for unsupervised learning carries `label_size=0`; a channel without
a ContentType is read as RecordIO-protobuf, the built-in algorithms' default and what the SDK's `record_set`
uploads). CSV is parsed by Arrow's streaming reader, every column float32. RecordIO-protobuf is read a block at a
time: a run of records with one layout (the same framed size and the same bytes before their features, as the
SDK and `recordio.codec.encode_rows` write dense rows) is sliced as one numpy array, its layout found by parsing
the run's first record with protobuf; any other record (sparse, labelled, float64) is decoded by
`recordio.codec`. Rows of a width other than `feature_dim` fail the job. Worker processes import this module.
"""

from __future__ import annotations

import io
import mmap
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
from google.protobuf.message import DecodeError

from local_aws.jobs.lifecycle import JobFailedError
from local_aws.rules import enforced
from recordio.aialgs_data_pb2 import Record
from recordio.codec import FEATURES_KEY, RecordError, decode_rows
from recordio.framing import RECORDIO_MAGIC, FramingError
from wire.media_types import CSV, PROTOBUF, media_type

BLOCK_BYTES = 16 * 1024 * 1024
HEADER_BYTES = 8
Rows = npt.NDArray[np.float32]
Buffer = bytes | memoryview  # an object's bytes: a block of a stream, or a window of a file mapped whole


def content_type_error(content_type: str) -> str | None:
    """Why the algorithm refuses a channel's ContentType, or None."""
    kind = media_type(content_type) or PROTOBUF
    if kind not in (CSV, PROTOBUF):
        return f"the k-means algorithm reads {CSV} or {PROTOBUF}, not {content_type}"
    if kind == CSV and _label_size(content_type) != 0:
        return f"k-means is unsupervised: {CSV} input needs label_size=0, got {content_type}"
    return None


def _label_size(content_type: str) -> int:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "label_size":
            return int(value) if value.strip().isdigit() else -1
    return 0


class Readable(Protocol):
    """What streams an object's bytes: an open file, botocore's StreamingBody, a read-ahead of one."""

    def read(self, size: int = -1, /) -> bytes: ...


Source = Path | Readable  # a file on the instance's volume (File mode), a FIFO (Pipe mode), or any stream


def rows(source: Source, content_type: str, feature_dim: int, where: str) -> Iterator[Rows]:
    """The object (a file, or a pipe or stream of it, from `where`) as arrays of rows, a bounded block at a time."""
    reader = csv_rows if media_type(content_type) == CSV else recordio_rows
    for block in reader(source, where):
        if block.shape[1] != feature_dim and enforced("training-feature-dim"):
            raise JobFailedError(
                f"ClientError: {where}: rows have {block.shape[1]} features, but feature_dim is {feature_dim}"
            )
        yield block


@contextmanager
def _opened(source: Source) -> Iterator[Readable]:
    if isinstance(source, Path):
        with open(source, "rb") as stream:
            yield stream
    else:
        yield source


class _Raw(io.RawIOBase):
    """Any object with `read(n)` (botocore's StreamingBody) as a raw stream, for io.BufferedReader and Arrow."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def batches(blocks: Iterable[Rows], size: int, check: Callable[[], None]) -> Iterator[Rows]:
    """The rows of `blocks` regrouped into batches of exactly `size` rows (the last may be short)."""
    held: list[Rows] = []
    count = 0
    for block in blocks:
        start = 0
        while start < len(block):
            take = min(size - count, len(block) - start)
            held.append(block[start : start + take])
            count += take
            start += take
            if count == size:
                check()
                yield np.concatenate(held)
                held, count = [], 0
    if count:
        yield np.concatenate(held)


def csv_rows(source: Source, where: str) -> Iterator[Rows]:
    """CSV rows, every field float32, a block of the object at a time."""
    with _opened(source) as stream:
        buffered = io.BufferedReader(_Raw(stream), buffer_size=BLOCK_BYTES)
        width = len(buffered.peek(BLOCK_BYTES).split(b"\n", 1)[0].split(b","))
        names = [f"f{index}" for index in range(width)]
        options = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float32()))
        read = pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES)
        try:
            with pacsv.open_csv(buffered, read_options=read, convert_options=options) as reader:
                for batch in reader:
                    block = np.column_stack([column.to_numpy(zero_copy_only=False) for column in batch.columns])
                    if np.isnan(block).any():
                        raise JobFailedError(f"ClientError: {where}: a CSV field is empty or not a number")
                    yield block.astype(np.float32, copy=False)
        except pa.ArrowInvalid as error:
            raise JobFailedError(f"ClientError: {where}: not CSV of {width} numeric columns ({error})") from error


def recordio_rows(source: Source, where: str) -> Iterator[Rows]:
    """RecordIO-protobuf rows: a file mapped into memory whole (its runs of dense records are sliced from the page
    cache without a copy), a pipe or stream a block at a time."""
    if isinstance(source, Path) and source.is_file():  # not a FIFO: Pipe mode's are read as streams
        yield from _mapped_rows(source, where)
        return
    pending = b""
    with _opened(source) as stream:
        while block := stream.read(BLOCK_BYTES):
            data = pending + block
            try:
                decoded, used = _decode(data)
            except (FramingError, RecordError, DecodeError) as error:
                raise JobFailedError(f"ClientError: {where}: not RecordIO-protobuf rows ({error})") from error
            yield from decoded
            pending = data[used:]
    if pending:
        raise JobFailedError(f"ClientError: {where}: a RecordIO record is truncated at the end of the object")


def _mapped_rows(path: Path, where: str) -> Iterator[Rows]:
    """The file mapped into memory, decoded a window of about BLOCK_BYTES at a time (what any window holds beyond
    its dense runs, and the checks of a run, stay bounded)."""
    if not path.stat().st_size:
        return
    with open(path, "rb") as stream:
        # The map outlives the file's descriptor and is unmapped once the last row slicing it is gone.
        data = memoryview(mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ))
    offset = 0
    while offset < len(data):
        try:
            first = _framed_size(data, offset) if len(data) - offset >= HEADER_BYTES else 0
            decoded, used = _decode(data[offset : offset + max(BLOCK_BYTES, first)])
        except (FramingError, RecordError, DecodeError) as error:
            raise JobFailedError(f"ClientError: {where}: not RecordIO-protobuf rows ({error})") from error
        if not used:
            raise JobFailedError(f"ClientError: {where}: a RecordIO record is truncated at the end of the object")
        yield from decoded
        offset += used


def _decode(data: Buffer) -> tuple[list[Rows], int]:
    """The rows of every whole record in `data`, and how many bytes they took."""
    decoded: list[Rows] = []
    offset = 0
    while offset + HEADER_BYTES <= len(data):
        size = _framed_size(data, offset)
        if offset + size > len(data):
            break
        run = _uniform_run(data, offset, size)
        if run is None:
            decoded.append(decode_rows(bytes(data[offset : offset + size])))
            offset += size
        else:
            decoded.append(run)
            offset += len(run) * size
    return decoded, offset


def _framed_size(data: Buffer, offset: int) -> int:
    magic, word = np.frombuffer(data, dtype="<u4", count=2, offset=offset)
    if magic != RECORDIO_MAGIC or word >> 29:
        raise FramingError(f"bad RecordIO header at byte {offset}")
    length = int(word)
    return HEADER_BYTES + length + (-length % 4)


def _uniform_run(data: Buffer, offset: int, size: int) -> Rows | None:
    """The rows of the records from `offset` that share the first one's layout, or None if it has no dense layout."""
    start = _features_offset(data, offset, size)
    if start is None:
        return None
    width = (_payload_end(data, offset) - start) // 4
    count = (len(data) - offset) // size
    records = np.frombuffer(data, dtype=np.uint8, count=count * size, offset=offset).reshape(count, size)
    same = (records[:, :start] == records[0, :start]).all(axis=1)
    same &= (records[:, start + 4 * width :] == 0).all(axis=1)
    run = count if same.all() else int(np.argmin(same))
    if run == 0:
        return None  # the first record's own padding is not zero: let protobuf and the framing judge it
    # A view, copied once when its rows are gathered into a batch (`batches`).
    return records[:run, start : start + 4 * width].view("<f4")


def _payload_end(data: Buffer, offset: int) -> int:
    (word,) = np.frombuffer(data, dtype="<u4", count=1, offset=offset + 4)
    return HEADER_BYTES + int(word)


def _features_offset(data: Buffer, offset: int, size: int) -> int | None:
    """Where a dense record's float32 features start within it, if its payload ends with them; else None."""
    end = _payload_end(data, offset)
    record = Record()
    record.ParseFromString(bytes(data[offset + HEADER_BYTES : offset + end]))
    if list(record.features) != [FEATURES_KEY] or record.label:
        return None
    value = record.features[FEATURES_KEY]
    if value.WhichOneof("value") != "float32_tensor" or value.float32_tensor.keys:
        return None
    packed = np.asarray(value.float32_tensor.values, dtype="<f4").tobytes()
    start = end - len(packed)
    if not packed or data[offset + start : offset + end] != packed:
        return None
    assert start + len(packed) <= size
    return start
