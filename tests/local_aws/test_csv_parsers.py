"""The runtime's two CSV readers (numpy for small bodies, Arrow for big ones) read every body alike."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from local_aws.kmeans import PayloadError
from local_aws.runtime import formats


def csv_of(rows: npt.NDArray[np.float32]) -> bytes:
    return ("\n".join(",".join(f"{value:.9g}" for value in row) for row in rows.tolist()) + "\n").encode()


def test_both_readers_give_the_same_float32_bits() -> None:
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**32, size=(300, 50), dtype=np.uint64).astype(np.uint32)
    rows = bits.view(np.float32)
    rows[~np.isfinite(rows)] = 1.5
    body = csv_of(rows)

    by_numpy = formats._parse_csv_numpy(body)
    by_arrow = formats._parse_csv_arrow(body)

    assert by_numpy.shape == by_arrow.shape == rows.shape
    assert np.array_equal(by_numpy.view(np.uint32), rows.view(np.uint32))
    assert np.array_equal(by_arrow.view(np.uint32), rows.view(np.uint32))


def test_big_bodies_go_to_arrow_and_small_ones_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str] = []

    def reader(name: str) -> object:
        def parse(body: bytes) -> npt.NDArray[np.float32]:
            used.append(name)
            return np.zeros((1, 1), dtype=np.float32)

        return parse

    monkeypatch.setattr(formats, "_parse_csv_arrow", reader("arrow"))
    monkeypatch.setattr(formats, "_parse_csv_numpy", reader("numpy"))

    formats._parse_csv(b"1,2\n")
    formats._parse_csv(b"1,2\n" * (formats.ARROW_MIN_BYTES // 4 + 1))

    assert used == ["numpy", "arrow"]


@pytest.mark.parametrize("body", [b"1,2\n3\n", b"1,x\n", b"", b"1;2\n"])
@pytest.mark.parametrize("reader", ["_parse_csv_numpy", "_parse_csv_arrow"])
def test_both_readers_refuse_what_cannot_be_evaluated(reader: str, body: bytes) -> None:
    with pytest.raises(PayloadError, match="malformed CSV"):
        getattr(formats, reader)(body)


@pytest.mark.parametrize("reader", ["_parse_csv_numpy", "_parse_csv_arrow"])
def test_both_readers_take_quotes_blank_lines_and_crlf(reader: str) -> None:
    rows = getattr(formats, reader)(b'\n"1.5",2\r\n\n3,-4e-3\r\n')
    assert rows.tolist() == [[1.5, 2.0], [3.0, np.float32(-4e-3)]]
