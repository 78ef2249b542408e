"""Request batches: exact numbers, every row once, and never a request over the payload limit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recordio.codec import decode_rows
from verification.payloads import CONTENT_TYPES
from wire.float32_text import csv_lines, double_rounding_risk, full_precision
from wire.media_types import CSV, JSON, PROTOBUF
from wire.requests import batches

EDGES = [np.finfo(np.float32).max, np.finfo(np.float32).tiny, np.finfo(np.float32).smallest_subnormal, -0.0, 1 / 3]
# The shortest float32 text of this value, 7.038531e-26, reads back through float64 as its neighbour.
DOUBLE_ROUNDED_WHEN_SHORTEST = 0x15AE43FD


def test_full_precision_text_reads_back_as_the_same_float32_through_float64() -> None:
    bits = np.random.default_rng(1).integers(0, 1 << 32, size=200_000, dtype=np.uint64).astype(np.uint32)
    edges = np.array([*EDGES, np.array(DOUBLE_ROUNDED_WHEN_SHORTEST, np.uint32).view(np.float32)], np.float32)
    values = np.concatenate([edges, bits.view(np.float32)])
    values = values[np.isfinite(values)]

    parsed = np.array(full_precision(values).split(","), dtype=np.float64).astype(np.float32)

    assert np.array_equal(parsed.view(np.uint32), values.view(np.uint32)), "every bit, the sign of zero too"


def _edge_and_random_values(count: int, seed: int) -> np.ndarray:
    bits = np.random.default_rng(seed).integers(0, 1 << 32, size=count, dtype=np.uint64).astype(np.uint32)
    edges = np.array([*EDGES, np.array(DOUBLE_ROUNDED_WHEN_SHORTEST, np.uint32).view(np.float32)], np.float32)
    values = np.concatenate([edges, bits.view(np.float32), np.random.default_rng(seed).random(count, np.float32)])
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def test_csv_lines_read_back_as_the_same_float32_through_float64() -> None:
    values = _edge_and_random_values(400_000, seed=3)
    rows = values[: len(values) // 8 * 8].reshape(-1, 8)

    text = b",".join(csv_lines(rows)).decode()
    parsed = np.array(text.split(","), dtype=np.float64).astype(np.float32)

    assert np.array_equal(parsed.view(np.uint32), rows.ravel().view(np.uint32)), "every bit, the sign of zero too"


def test_a_value_whose_shortest_text_rounds_twice_is_written_in_full() -> None:
    risky = np.array(DOUBLE_ROUNDED_WHEN_SHORTEST, np.uint32).view(np.float32)
    rows = np.array([[0.5, risky], [0.25, 0.75]], dtype=np.float32)

    lines = csv_lines(rows)

    assert double_rounding_risk(rows).tolist() == [[False, True], [False, False]]
    assert lines == [full_precision(rows[0]).encode(), b"0.25,0.75"]
    shortest = np.float64("7.038531e-26").astype(np.float32)
    assert shortest.view(np.uint32) != DOUBLE_ROUNDED_WHEN_SHORTEST  # what the shortest text would have sent


def test_few_uniform_values_need_the_long_form() -> None:
    values = np.random.default_rng(4).random(1_000_000, dtype=np.float32)

    assert double_rounding_risk(values).mean() < 1e-4


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_batches_cover_every_row_once_and_stay_under_the_limit(content_type: str) -> None:
    rows = np.random.default_rng(2).random((300, 50), dtype=np.float32)
    limit = 20_000
    planned = list(batches(rows, content_type, limit))
    assert len(planned) >= 4
    assert [b.start for b in planned[1:]] == [b.stop for b in planned[:-1]]
    assert (planned[0].start, planned[-1].stop) == (0, 300)
    assert max(len(b.body) for b in planned) <= limit
    decoded = np.concatenate([_decode(content_type, b.body) for b in planned])
    assert np.array_equal(decoded, rows)


def _decode(content_type: str, body: bytes) -> np.ndarray:
    if content_type == CSV:
        return np.loadtxt(body.decode().splitlines(), delimiter=",", dtype=np.float32, ndmin=2)
    if content_type == JSON:
        return np.array([i["features"] for i in json.loads(body)["instances"]], dtype=np.float32)
    assert content_type == PROTOBUF
    return decode_rows(body)


def test_a_row_too_big_for_any_request_is_refused() -> None:
    with pytest.raises(ValueError, match="row 0 alone is"):
        list(batches(np.ones((1, 5000), dtype=np.float32), CSV, 1000))
