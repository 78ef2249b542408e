"""The streaming readers: the same rows as loading whole, in bounded chunks, and one clear line for bad input."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from model_build import chunks
from model_build.chunks import count_features, file_format, iter_chunks
from model_build.errors import BuildError
from recordio.codec import encode_rows


def _rows(count: int = 23, features: int = 5, seed: int = 0) -> npt.NDArray[np.float32]:
    return np.random.default_rng(seed).normal(0, 10, size=(count, features)).astype(np.float32)


def _csv(path: Path, rows: npt.NDArray[np.float32], header: str | None = None) -> Path:
    lines = [",".join(repr(float(v)) for v in row) for row in rows]
    path.write_text("\n".join(([header] if header else []) + lines) + "\n")
    return path


def _npy(path: Path, rows: npt.NDArray[np.generic]) -> Path:
    np.save(path, rows)
    return path


def _recordio(path: Path, rows: npt.NDArray[np.float32]) -> Path:
    path.write_bytes(encode_rows(rows))
    return path


WRITERS: dict[str, Callable[[Path, npt.NDArray[np.float32]], Path]] = {
    "csv": lambda folder, rows: _csv(folder / "rows.csv", rows),
    "npy": lambda folder, rows: _npy(folder / "rows.npy", rows),
    "recordio": lambda folder, rows: _recordio(folder / "rows.rec", rows),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_each_format_streams_every_row_in_chunks_of_at_most_the_given_size(tmp_path: Path, kind: str) -> None:
    rows = _rows()
    path = WRITERS[kind](tmp_path, rows)

    pieces = list(iter_chunks(path, 5))

    assert [len(piece) for piece in pieces] == [5, 5, 5, 5, 3]
    assert all(piece.dtype == np.float32 and piece.flags.c_contiguous for piece in pieces)
    np.testing.assert_array_equal(np.concatenate(pieces), rows)
    assert file_format(path) == kind
    assert count_features(path) == 5


def test_a_folder_streams_its_files_in_name_order_whatever_their_format(tmp_path: Path) -> None:
    rows = _rows(30)
    _npy(tmp_path / "b.npy", rows[10:20])
    _csv(tmp_path / "a.csv", rows[:10])
    _recordio(tmp_path / "c", rows[20:])
    (tmp_path / ".hidden").write_text("not data")

    pieces = list(iter_chunks(tmp_path, 4))

    np.testing.assert_array_equal(np.concatenate(pieces), rows)
    assert [len(piece) for piece in pieces] == [4] * 7 + [2]  # chunks span files


def test_csv_chunks_span_arrow_blocks_and_are_exactly_the_asked_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "CSV_BLOCK_BYTES", 200)  # many small Arrow batches, none 7 rows long
    rows = _rows(50)
    path = _csv(tmp_path / "rows.csv", rows)

    pieces = list(iter_chunks(path, 7))

    assert [len(piece) for piece in pieces] == [7] * 7 + [1]
    np.testing.assert_array_equal(np.concatenate(pieces), rows)


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_digests_hold_each_files_sha256_once_it_is_read_to_the_end(tmp_path: Path, kind: str) -> None:
    path = WRITERS[kind](tmp_path, _rows())
    digests: dict[Path, str] = {}

    seen = [dict(digests) for _ in iter_chunks(path, 4, digests=digests)]

    assert seen[0] == {}
    assert digests == {path: hashlib.sha256(path.read_bytes()).hexdigest()}


def test_a_declared_csv_header_is_skipped_and_blank_lines_ignored(tmp_path: Path) -> None:
    rows = _rows(4)
    path = _csv(tmp_path / "rows.csv", rows, header="a,b,c,d,e")
    path.write_text(path.read_text() + "\n\n")

    np.testing.assert_array_equal(np.concatenate(list(iter_chunks(path, 3, csv_header=True))), rows)


def test_integer_npy_rows_become_float32(tmp_path: Path) -> None:
    path = _npy(tmp_path / "ints.npy", np.arange(12, dtype=np.int64).reshape(4, 3))

    (piece,) = iter_chunks(path, 10)

    assert piece.dtype == np.float32
    assert piece[3, 2] == 11.0


def _float64_npy(values: list[list[float]]) -> Callable[[Path], Path]:
    return lambda tmp: _npy(tmp / "x.npy", np.array(values, dtype=np.float64))


REFUSALS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing path": (lambda t: t / "nope.csv", "nope.csv: no such file or folder"),
    "empty file": (lambda t: _write(t / "e.csv", ""), "e.csv: file is empty"),
    "blank-only csv": (lambda t: _write(t / "b.csv", "\n\n"), "b.csv: holds no rows"),
    "empty folder": (lambda t: _folder(t / "empty"), "empty: folder holds no data files"),
    "ragged csv": (lambda t: _write(t / "r.csv", "1,2,3\n4,5,6\n7,8\n"), "r.csv: line 3 (row 3): 2 fields"),
    "undeclared header": (
        lambda t: _write(t / "h.csv", "x,y\n1,2\n"),
        "h.csv: line 1 (row 1): column 1: 'x' is not a number (CSV input has no header line unless declared)",
    ),
    "non-numeric csv field": (lambda t: _write(t / "n.csv", "1,2\n3,abc\n"), "n.csv: line 2 (row 2): column 2: 'abc'"),
    "empty csv field": (lambda t: _write(t / "f.csv", "1,2\n\n3,\n"), "f.csv: line 3 (row 2): column 2: ''"),
    "nan in csv": (lambda t: _write(t / "nan.csv", "1,2\n3,nan\n"), "nan.csv: line 2 (row 2): column 2: nan is not"),
    "beyond float32 in csv": (lambda t: _write(t / "big.csv", "1,1e40\n"), "big.csv: line 1 (row 1): column 2: 1e40"),
    "1-d npy": (lambda t: _npy(t / "v.npy", np.arange(3.0)), "v.npy: expected a 2-D numeric array"),
    "string npy": (lambda t: _npy(t / "s.npy", np.array([["a"]])), "s.npy: expected a 2-D numeric array"),
    "truncated npy": (lambda t: _write_bytes(t / "t.npy", b"\x93NUMPY\x01\x00"), "t.npy: cannot read as .npy"),
    "nan in npy": (_float64_npy([[1.0, 2.0], [3.0, float("nan")]]), "x.npy: row 2, column 2: nan is not"),
    "beyond float32 in npy": (_float64_npy([[1.0], [1e300]]), "x.npy: row 2, column 1: 1e+300 is not a finite"),
    "truncated recordio": (
        lambda t: _write_bytes(t / "t.rec", encode_rows(_rows(3))[:-6]),
        "t.rec: record 3: RecordIO record at byte",
    ),
    "ragged recordio": (
        lambda t: _write_bytes(t / "r.rec", encode_rows(_rows(2, 3)) + encode_rows(_rows(1, 4))),
        "r.rec: records 1-3: records have different feature counts",
    ),
    "files of different widths": (
        lambda t: _folder(t / "mixed", {"a.csv": "1,2\n", "b.csv": "1,2,3\n"}),
        "b.csv: rows have 3 features, earlier files 2",
    ),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _folder(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir()
    for name, text in (files or {}).items():
        (path / name).write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_input_is_one_line_naming_the_file_and_row(tmp_path: Path, case: str) -> None:
    make, expected = REFUSALS[case]
    path = make(tmp_path)

    with pytest.raises(BuildError) as raised:
        list(iter_chunks(path, 2))

    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_a_bad_csv_line_far_into_the_file_is_found_past_the_rows_already_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "CSV_BLOCK_BYTES", 64)
    path = _write(tmp_path / "late.csv", "1,2\n" * 500 + "3,oops\n" + "4,5\n" * 10)

    with pytest.raises(BuildError, match=r"late.csv: line 501 \(row 501\): column 2: 'oops'"):
        list(iter_chunks(path, 100))


def test_recordio_rows_of_another_width_in_a_later_group_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "RECORDIO_FRAMES_PER_DECODE", 2)
    path = _write_bytes(tmp_path / "r.rec", encode_rows(_rows(2, 3)) + encode_rows(_rows(2, 4)))

    with pytest.raises(BuildError, match=r"r\.rec: records 3-4 have 4 features, earlier records 3"):
        list(iter_chunks(path, 10))


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="chunk rows must be at least 1"):
        list(iter_chunks(_npy(tmp_path / "x.npy", _rows()), 0))
