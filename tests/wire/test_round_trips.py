"""Each writer read back by the reader on the other side of the wire, every float32 bit intact.

Requests: the client's writers (`wire.requests`) through the local AWS's runtime reader. Answers: the runtime's
writer through the client's reader (`wire.answers`), in every content type the container answers in.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from local_aws.kmeans import Predictions
from local_aws.runtime.formats import parse_rows, render
from wire.answers import read_answers
from wire.media_types import REQUEST_TYPES, RESPONSE_TYPES
from wire.requests import batches, encode_request

# The shortest float32 text of this value, 7.038531e-26, reads back through float64 as its neighbour.
DOUBLE_ROUNDED_WHEN_SHORTEST = 0x15AE43FD


def awkward_rows(count: int, width: int) -> npt.NDArray[np.float32]:
    """Random bit patterns (finite), the float32 extremes, -0.0 and a value whose shortest text rounds twice."""
    bits = np.random.default_rng(11).integers(0, 1 << 32, size=count * width * 2, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    edges = np.array(
        [np.finfo(np.float32).max, np.finfo(np.float32).tiny, np.finfo(np.float32).smallest_subnormal, -0.0, 1 / 3],
        dtype=np.float32,
    )
    risky = np.array([DOUBLE_ROUNDED_WHEN_SHORTEST], np.uint32).view(np.float32)
    finite = np.concatenate([edges, risky, values[np.isfinite(values)]])
    return finite[: count * width].reshape(count, width)


def same_bits(got: npt.ArrayLike, expected: npt.NDArray[np.float32]) -> bool:
    return np.array_equal(np.asarray(got, dtype=np.float32).view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("content_type", REQUEST_TYPES)
def test_each_request_writer_reads_back_exactly_through_the_runtime(content_type: str) -> None:
    rows = awkward_rows(200, 9)

    read = parse_rows(content_type, encode_request(rows, content_type))

    assert read.shape == rows.shape
    assert same_bits(read, rows), "every bit, the sign of zero too"


@pytest.mark.parametrize("content_type", REQUEST_TYPES)
def test_batched_requests_read_back_as_every_row_once(content_type: str) -> None:
    rows = awkward_rows(300, 20)

    planned = list(batches(rows, content_type, limit=8_000))
    read = np.concatenate([parse_rows(content_type, batch.body) for batch in planned])

    assert len(planned) > 3
    assert max(len(batch.body) for batch in planned) <= 8_000
    assert same_bits(read, rows)


@pytest.mark.parametrize("kind", RESPONSE_TYPES)
def test_each_answer_the_runtime_writes_reads_back_exactly_through_the_client(kind: str) -> None:
    rng = np.random.default_rng(5)
    distances = np.concatenate([np.array([7.2033820152282715, 0.0, 1e-30], np.float32), rng.random(50, np.float32)])
    closest = rng.integers(0, 10, size=len(distances)).astype(np.float32)

    got_closest, got_distances = read_answers(kind, render(Predictions(closest, distances), kind))

    assert same_bits(got_closest, closest)
    assert same_bits(got_distances, distances)


def test_an_answers_content_type_is_read_with_its_parameters() -> None:
    body = render(Predictions(np.array([1.0], np.float32), np.array([0.5], np.float32)), "text/csv")

    assert read_answers("text/csv; charset=utf-8", body) == ([1.0], [0.5])
