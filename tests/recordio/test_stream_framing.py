"""RecordIO framing read from a stream, one record at a time, with the same checks as from bytes."""

from __future__ import annotations

import io
import struct

import pytest

from recordio.framing import RECORDIO_MAGIC, FramingError, frame, read_frames, unframe


class Trickle(io.RawIOBase):
    """A stream that answers at most 3 bytes per read, as a network body may."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.data.read(min(size, 3) if size >= 0 else 3)


@pytest.mark.parametrize("stream", [io.BytesIO, Trickle])
def test_each_record_comes_whole_with_its_header_and_padding(stream: type) -> None:
    payloads = [b"abcde", b"", b"x" * 8, b"xyz"]
    data = frame(payloads)

    records = list(read_frames(stream(data)))

    assert b"".join(records) == data
    assert [list(unframe(record)) for record in records] == [[payload] for payload in payloads]


def header(magic: int, word: int) -> bytes:
    return struct.pack("<II", magic, word)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (header(RECORDIO_MAGIC, (1 << 29) | 4) + b"abcd", "multi-part RecordIO record at byte 0 is not supported"),
        (frame([b"ok"]) + header(0xDEADBEEF, 4) + b"abcd", "bad RecordIO magic 0xdeadbeef at byte 12"),
        (frame([b"ok"]) + b"\x0a\x23", "truncated RecordIO header at byte 12"),
        (header(RECORDIO_MAGIC, 6) + b"abcdef", "RecordIO record at byte 0 needs 8 bytes, 6 left"),
    ],
)
def test_a_malformed_stream_is_refused_where_it_goes_wrong(data: bytes, message: str) -> None:
    with pytest.raises(FramingError, match=message):
        list(read_frames(io.BytesIO(data)))


def test_bytes_and_stream_refuse_a_multi_part_record_alike() -> None:
    data = header(RECORDIO_MAGIC, (1 << 29) | 4) + b"abcd"

    with pytest.raises(FramingError) as from_bytes:
        list(unframe(data))
    with pytest.raises(FramingError) as from_stream:
        list(read_frames(io.BytesIO(data)))

    assert str(from_bytes.value) == str(from_stream.value)
