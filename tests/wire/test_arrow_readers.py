"""wire.arrow_readers reads many JSON answers at once exactly as wire.portable reads them one by one, and leaves
every other layout to that reader; the monitor's report is the same either way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from monitoring import reading
from monitoring.processing import analyse_folder
from tests.monitoring.traffic import ENDPOINT, VARIANT, exchanges, in_distribution, make_build, shifted, write_capture
from wire import arrow_readers, portable
from wire.answers import encode_answers
from wire.media_types import JSON

ESCAPED = b'\\"'


def answers(count: int, seed: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, count).astype(np.float32), (rng.random(count) * 40).astype(np.float32)


def one_by_one(bodies: list[bytes]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    pairs = [portable.read_answers(JSON, body) for body in bodies]
    return np.concatenate([pair[0] for pair in pairs]), np.concatenate([pair[1] for pair in pairs])


def test_the_batch_reader_reads_many_answers_as_the_one_by_one_reader() -> None:
    bodies = [encode_answers(*answers(count, seed), JSON) for seed, count in enumerate([100, 1, 37])]

    got = arrow_readers.read_json_answers_batch(bodies)
    escaped = arrow_readers.read_json_answers_batch(
        [json.dumps(body.decode())[1:-1].encode() for body in bodies], ESCAPED
    )

    expected = one_by_one(bodies)
    for batch in (got, escaped):
        assert batch is not None
        assert np.array_equal(batch[0], expected[0])
        assert np.array_equal(batch[1], expected[1])


def test_every_float32_distance_reads_back_bit_for_bit() -> None:
    """Shortest texts, exponents, zeros and the float32 extremes: Arrow rounds each as float() does."""
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2**31, size=2000, dtype=np.uint64).astype(np.uint32)  # every positive float32 pattern
    distances = bits.view(np.float32)
    distances[~np.isfinite(distances)] = 0.0
    distances[:6] = [0.0, 1e-45, 3.4028235e38, 1.17549435e-38, 7.038531e-26, 20.470615]
    closest = rng.integers(0, 500, distances.size).astype(np.float32)
    body = encode_answers(closest, distances, JSON)

    got = arrow_readers.read_json_answers_batch([body])

    assert got is not None
    assert np.array_equal(got[0], one_by_one([body])[0])
    assert np.array_equal(got[1].view(np.uint64), one_by_one([body])[1].view(np.uint64))


@pytest.mark.parametrize(
    "body",
    [
        '{"predictions": [{"closest_cluster": 1.0, "distance_to_cluster": 2.0}]}',  # another key order
        '{"predictions":[{"distance_to_cluster":2.0,"closest_cluster":1.0}]}',  # another spacing
        '{"predictions": [{"distance_to_cluster": 2.0, "closest_cluster": 1.0, "label": 4}]}',  # another key
        '{"predictions": [{"distance_to_cluster": 2.0}]}',  # a missing value
        '{"predictions": [{"distance_to_cluster": null, "closest_cluster": 1.0}]}',  # not a number
        '{"predictions": [{"distance_to_cluster": "2.0", "closest_cluster": 1.0}]}',  # a string
        '{"predictions": []}',  # no rows
    ],
)
def test_the_batch_reader_leaves_any_other_layout_to_the_exact_reader(body: str) -> None:
    good = encode_answers(*answers(5, 1), JSON).decode()

    assert arrow_readers.read_json_answers_batch([good.encode(), body.encode()]) is None
    escaped = [text.replace('"', '\\"').encode() for text in (good, body)]
    assert arrow_readers.read_json_answers_batch(escaped, ESCAPED) is None


def test_answers_that_do_not_open_and_close_as_the_layout_are_left_to_the_exact_reader() -> None:
    good = encode_answers(*answers(5, 1), JSON)
    prediction = b'{"distance_to_cluster": 1.0, "closest_cluster": 2.0}'
    nested = b'{"predictions": [' + prediction + b", [" + prediction + b"]]}"  # counts balanced by the next one
    flat = b'{"predictions": ' + prediction + b"}"

    assert arrow_readers.read_json_answers_batch([good + good]) is None
    assert arrow_readers.read_json_answers_batch([nested, flat]) is None


def test_the_monitor_reports_the_same_with_the_batch_reader_or_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = make_build(tmp_path / "build")
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(1500)) + exchanges(build, shifted(500)))

    def report() -> dict[str, object]:
        return analyse_folder(tmp_path / "capture", build, endpoint=ENDPOINT, variant=VARIANT, window=None)

    batched = report()
    monkeypatch.setattr(reading, "read_json_answers_batch", lambda bodies, quote: None)
    exact = report()

    assert batched["rows"] == 2000
    assert batched == exact
