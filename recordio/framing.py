"""RecordIO framing: magic, length, payload, zero padding to a multiple of 4 bytes."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import IO

RECORDIO_MAGIC = 0xCED7230A
_HEADER = struct.Struct("<II")
_LENGTH_MASK = (1 << 29) - 1  # the upper 3 bits flag multi-part records


class FramingError(ValueError):
    """The bytes are not a well-formed RecordIO stream."""


def frame(payloads: Iterable[bytes]) -> bytes:
    """Frame each payload as one RecordIO record."""
    parts = []
    for payload in payloads:
        parts.append(_HEADER.pack(RECORDIO_MAGIC, len(payload)))
        parts.append(payload)
        parts.append(b"\x00" * (-len(payload) % 4))
    return b"".join(parts)


def unframe(data: bytes) -> Iterator[bytes]:
    """Yield each record's payload; FramingError names the offset of the first problem."""
    offset = 0
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            raise FramingError(f"truncated RecordIO header at byte {offset}")
        magic, word = _HEADER.unpack_from(data, offset)
        length = _payload_length(magic, word, offset)
        start = offset + _HEADER.size
        if start + length > len(data):
            raise FramingError(f"RecordIO record at byte {offset} needs {length} bytes, {len(data) - start} left")
        yield data[start : start + length]
        offset = start + length + (-length % 4)


def read_frames(stream: IO[bytes]) -> Iterator[bytes]:
    """Yield each record of a stream whole, header and padding included, reading one record at a time.

    The same checks as `unframe`, for inputs too big to hold (a batch transform's objects).
    """
    offset = 0
    while header := _read_exactly(stream, _HEADER.size):
        if len(header) < _HEADER.size:
            raise FramingError(f"truncated RecordIO header at byte {offset}")
        magic, word = _HEADER.unpack(header)
        length = _payload_length(magic, word, offset)
        padded = length + (-length % 4)
        payload = _read_exactly(stream, padded)
        if len(payload) < padded:
            raise FramingError(f"RecordIO record at byte {offset} needs {padded} bytes, {len(payload)} left")
        yield header + payload
        offset += _HEADER.size + padded


def count_frames(stream: IO[bytes]) -> int:
    """How many records a seekable stream holds, read from their headers alone (each payload skipped)."""
    count, offset = 0, 0
    while header := _read_exactly(stream, _HEADER.size):
        if len(header) < _HEADER.size:
            raise FramingError(f"truncated RecordIO header at byte {offset}")
        magic, word = _HEADER.unpack(header)
        length = _payload_length(magic, word, offset)
        offset += _HEADER.size + length + (-length % 4)
        stream.seek(offset)
        count += 1
    return count


def _payload_length(magic: int, word: int, offset: int) -> int:
    if magic != RECORDIO_MAGIC:
        raise FramingError(f"bad RecordIO magic {magic:#010x} at byte {offset}")
    if word >> 29:
        raise FramingError(f"multi-part RecordIO record at byte {offset} is not supported")
    return word & _LENGTH_MASK


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """`size` bytes, fewer only at the end of the stream (a read may return less than asked before it)."""
    parts, missing = [], size
    while missing and (chunk := stream.read(missing)):
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)
