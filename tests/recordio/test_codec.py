"""RecordIO-protobuf: byte-exact against the documented example, round trips, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from recordio.codec import RecordError, decode_predictions, decode_rows, encode_predictions, encode_rows
from recordio.framing import FramingError, frame, unframe

# CONTRACTS.md §6: features [1.5, 2.0, 3.0] as one record.
WORKED_EXAMPLE = bytes.fromhex(
    "0a23d7ce1c000000" "0a1a0a0676616c756573121012" "0e0a0c0000c03f0000004000004040"
)  # fmt: skip


def test_rows_encode_exactly_as_the_worked_example() -> None:
    assert encode_rows(np.array([[1.5, 2.0, 3.0]])) == WORKED_EXAMPLE


def test_rows_round_trip_as_float32() -> None:
    rows = np.random.default_rng(0).normal(size=(5, 7)).astype(np.float32)
    np.testing.assert_array_equal(decode_rows(encode_rows(rows)), rows)


def test_predictions_round_trip() -> None:
    closest, distances = decode_predictions(encode_predictions([7.0, 1.0], [3.0, 0.5]))
    assert (closest, distances) == ([7.0, 1.0], [3.0, 0.5])


def test_framing_pads_each_record_to_four_bytes() -> None:
    framed = frame([b"abcde", b"x"])
    assert len(framed) == (8 + 8) + (8 + 4)
    assert list(unframe(framed)) == [b"abcde", b"x"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (WORKED_EXAMPLE[:5], "truncated RecordIO header at byte 0"),
        (b"\x00" * 8, "bad RecordIO magic 0x00000000 at byte 0"),
        (WORKED_EXAMPLE[:20], "needs 28 bytes, 12 left"),
        (bytes.fromhex("0a23d7ce1c000020") + WORKED_EXAMPLE[8:], "multi-part RecordIO record"),
    ],
)
def test_broken_framing_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(FramingError, match=message):
        list(unframe(data))


def test_records_of_different_widths_are_refused() -> None:
    mixed = encode_rows(np.ones((1, 2))) + encode_rows(np.ones((1, 3)))
    with pytest.raises(RecordError, match=r"different feature counts: \[2, 3\]"):
        decode_rows(mixed)


def test_garbage_payload_is_refused() -> None:
    with pytest.raises(RecordError):
        decode_rows(frame([b"\xff\xff\xff"]))
