"""Stream training rows from CSV, .npy or RecordIO-protobuf files as float32 chunks of bounded size.

For inputs larger than memory: what is held is one chunk, the piece being cut into chunks, and Arrow's
read-ahead of a few dozen CSV blocks (CSV_BLOCK_BYTES each), whatever the file's size.

Formats are told apart by their first bytes, not their names (SageMaker's channels carry no suffixes):
`\\x93NUMPY` is a .npy file, the RecordIO magic a RecordIO-protobuf file, anything else CSV. A folder
is every visible regular file in it, in name order, each of any format, all with the same feature count.

CSV has no header line: SageMaker's built-in algorithms read `text/csv` without one, and every column is a
feature (k-means has no label column). A file that has one declares it (`csv_header=True`, the CLI's
`--csv-header`), and the first line of every CSV file is then skipped; an undeclared header is refused as
a non-numeric line, never guessed at. Blank lines are skipped.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from model_build.errors import BuildError
from model_build.validation import FLOAT32_MAX
from recordio.framing import RECORDIO_MAGIC, FramingError, read_frames

NPY_MAGIC = b"\x93NUMPY"
RECORDIO_MAGIC_BYTES = RECORDIO_MAGIC.to_bytes(4, "little")  # a record's header starts with it
CSV_BLOCK_BYTES = 4 * 2**20  # Arrow's read unit: bounds the text held besides one chunk
RECORDIO_FRAMES_PER_DECODE = 1024


def iter_chunks(
    path: Path, rows: int, *, csv_header: bool = False, digests: dict[Path, str] | None = None
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield C-contiguous float32 (n, features) chunks, n <= `rows`, of a file or a folder of files, in order.

    Every chunk but the last has exactly `rows` rows (a chunk may span two files of a folder), so chunk
    boundaries depend on the rows and `rows` only. A problem (unreadable, ragged, non-numeric, non-finite,
    empty) is a BuildError naming the file and the row. With `digests`, each file's sha256 is added to it
    once the file is read to its end (hashed as it is read: no second pass over CSV or RecordIO).
    """
    if rows < 1:
        raise BuildError(f"chunk rows must be at least 1, got {rows}")
    yield from _rebatch(_all_pieces(input_files(path), rows, csv_header, digests), rows)


def _all_pieces(
    files: list[Path], rows: int, csv_header: bool, digests: dict[Path, str] | None
) -> Iterator[npt.NDArray[np.float32]]:
    features: int | None = None
    for file in files:
        for piece in _file_pieces(file, rows, csv_header, digests):
            if features is None:
                features = piece.shape[1]
            elif piece.shape[1] != features:
                raise BuildError(f"{file}: rows have {piece.shape[1]} features, earlier files {features}")
            yield piece


def count_features(path: Path, *, csv_header: bool = False) -> int:
    """The feature count of the first row of `path` (a file or folder), read without loading it."""
    for chunk in iter_chunks(path, 1, csv_header=csv_header):
        return int(chunk.shape[1])
    raise AssertionError("iter_chunks yields at least one row or fails")  # pragma: no cover


def input_files(path: Path) -> list[Path]:
    """The files `path` stands for: itself, or a folder's visible regular files in name order."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise BuildError(f"{path}: folder holds no data files")
        return files
    if not path.exists():
        raise BuildError(f"{path}: no such file or folder")
    return [path]


def file_format(path: Path) -> str:
    """'npy', 'recordio' or 'csv', from the file's first bytes; an empty file is refused."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(len(NPY_MAGIC))
    except OSError as error:
        raise BuildError(f"{path}: cannot read ({error.strerror})") from error
    if not head:
        raise BuildError(f"{path}: file is empty")
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(RECORDIO_MAGIC_BYTES):
        return "recordio"
    return "csv"


def _file_pieces(
    path: Path, rows: int, csv_header: bool, digests: dict[Path, str] | None
) -> Iterator[npt.NDArray[np.float32]]:
    """The rows of one file, in pieces of whatever size its reader gives (the caller cuts them to size)."""
    kind = file_format(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, after the generator's last piece
    except OSError as error:
        raise BuildError(f"{path}: cannot read ({error.strerror})") from error
    with raw:
        stream = _HashingReader(raw, hashing=digests is not None and kind != "npy")
        if kind == "npy":
            pieces = _npy_pieces(path, rows)
        elif kind == "recordio":
            pieces = _recordio_pieces(path, stream)
        else:
            pieces = _csv_pieces(path, stream, csv_header)
        empty = True
        for piece in pieces:
            empty = empty and not len(piece)
            yield piece
        if empty:
            raise BuildError(f"{path}: holds no rows")
        if digests is not None:
            digests[path] = _file_sha256(raw) if kind == "npy" else stream.hexdigest()


class _HashingReader:
    """A binary file that hashes what is read from it: the data's sha256 for the manifest, in the same pass."""

    def __init__(self, raw: IO[bytes], *, hashing: bool) -> None:
        self._raw = raw
        self._sha256 = hashlib.sha256() if hashing else None
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self._sha256 is not None:
            self._sha256.update(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True  # the raw file is closed by its owner

    def hexdigest(self) -> str:
        assert self._sha256 is not None
        return self._sha256.hexdigest()


def _file_sha256(raw: io.BufferedReader) -> str:
    raw.seek(0)
    return hashlib.file_digest(raw, "sha256").hexdigest()


def _rebatch(pieces: Iterator[npt.NDArray[np.float32]], rows: int) -> Iterator[npt.NDArray[np.float32]]:
    """Cut and join the readers' pieces (whatever size their blocks give) into chunks of exactly `rows`."""
    held: list[npt.NDArray[np.float32]] = []
    count = 0
    for piece in pieces:
        start = 0
        while start < len(piece):
            take = piece[start : start + rows - count]
            held.append(take)
            count += len(take)
            start += len(take)
            if count == rows:
                yield _joined(held)
                held, count = [], 0
    if count:
        yield _joined(held)


def _joined(pieces: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    if len(pieces) == 1:
        return np.ascontiguousarray(pieces[0])
    return np.concatenate(pieces)


# --- .npy: a memory map, read a slice at a time -------------------------------------------------------


def _npy_pieces(path: Path, rows: int) -> Iterator[npt.NDArray[np.float32]]:
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise BuildError(f"{path}: cannot read as .npy ({_first_line(error)})") from error
    if mapped.ndim != 2 or not (np.issubdtype(mapped.dtype, np.number) or mapped.dtype == np.bool_):
        raise BuildError(f"{path}: expected a 2-D numeric array (rows, features), got {mapped.dtype} {mapped.shape}")
    if mapped.shape[1] == 0:
        raise BuildError(f"{path}: rows have no features")
    for start in range(0, mapped.shape[0], rows):
        yield _checked(np.asarray(mapped[start : start + rows]), path, first_row=start + 1)


# --- RecordIO-protobuf: one frame at a time, decoded by the project's codec -----------------------------


def _recordio_pieces(path: Path, source: _HashingReader) -> Iterator[npt.NDArray[np.float32]]:
    group: list[bytes] = []
    read = 0  # frames read so far; a framing error is in the next one
    width: int | None = None
    try:
        for frame in read_frames(source):  # type: ignore[arg-type] # a readable binary stream
            group.append(frame)
            read += 1
            if len(group) == RECORDIO_FRAMES_PER_DECODE:
                piece = _decoded(group, path, first_row=read - len(group) + 1, width=width)
                width = piece.shape[1]
                yield piece
                group = []
    except FramingError as error:
        raise BuildError(f"{path}: record {read + 1}: {error}") from error
    except OSError as error:
        raise BuildError(f"{path}: cannot read ({error.strerror})") from error
    if group:
        yield _decoded(group, path, first_row=read - len(group) + 1, width=width)


def _decoded(frames: list[bytes], path: Path, first_row: int, width: int | None) -> npt.NDArray[np.float32]:
    from recordio.codec import RecordError, decode_rows

    last = first_row + len(frames) - 1
    try:
        piece = decode_rows(b"".join(frames))
    except RecordError as error:
        raise BuildError(f"{path}: records {first_row}-{last}: {error}") from error
    if width is not None and piece.shape[1] != width:
        raise BuildError(f"{path}: records {first_row}-{last} have {piece.shape[1]} features, earlier records {width}")
    return _checked(piece, path, first_row=first_row)


# --- CSV: Arrow's streaming reader (C++), every column parsed as float32 --------------------------------


def _csv_pieces(path: Path, source: _HashingReader, header: bool) -> Iterator[npt.NDArray[np.float32]]:
    import pyarrow as pa

    features = _csv_width(path, header)
    done = 0
    try:
        for batch in open_csv_reader(source, features, header):
            # One C++ copy to a row-major matrix; an empty or "nan" field (Arrow's nulls) becomes NaN, refused below.
            piece = np.asarray(batch.to_tensor(null_to_nan=True, row_major=True))
            if not np.isfinite(piece).all():
                raise _csv_problem(path, header, done, "an empty field or a value that is not a finite float32")
            yield piece
            done += len(piece)
    except pa.ArrowInvalid as error:
        raise _csv_problem(path, header, done, _first_line(error)) from error
    except OSError as error:
        raise BuildError(f"{path}: cannot read ({error.strerror or error})") from error


def open_csv_reader(source: Path | _HashingReader, features: int, header: bool) -> Any:
    """Arrow's streaming CSV reader over `source`, `features` float32 columns, no type inference.

    Also the baseline the streaming benchmark compares against (bench/train_streaming_vs_arrow.py).
    """
    import pyarrow as pa
    from pyarrow import csv

    read = csv.ReadOptions(
        autogenerate_column_names=True, skip_rows=1 if header else 0, block_size=CSV_BLOCK_BYTES, use_threads=False
    )
    convert = csv.ConvertOptions(column_types={f"f{i}": pa.float32() for i in range(features)})
    return csv.open_csv(source, read_options=read, convert_options=convert)


def _csv_width(path: Path, header: bool) -> int:
    """The number of fields on the first data line (Arrow's reader must be told the column types)."""
    try:
        with open(path, "rb") as stream:
            lines = (line for number, line in enumerate(stream) if not (header and number == 0))
            first = next((line for line in lines if line.strip()), None)
    except OSError as error:
        raise BuildError(f"{path}: cannot read ({error.strerror})") from error
    if first is None:
        raise BuildError(f"{path}: holds no rows")
    return len(first.split(b","))


def _csv_problem(path: Path, header: bool, rows_before: int, arrow_says: str) -> BuildError:
    """Find the first bad line at or after data row `rows_before + 1` (Arrow's messages name no line)."""
    width = _csv_width(path, header)
    row = 0
    with open(path, "rb") as stream:
        for number, line in enumerate(stream, start=1):
            if (header and number == 1) or not line.strip():
                continue
            row += 1
            if row <= rows_before:
                continue
            problem = _line_problem(line, width)
            if problem:
                return BuildError(f"{path}: line {number} (row {row}): {problem}")
    return BuildError(f"{path}: after row {rows_before}: cannot read as numeric CSV ({arrow_says})")


def _line_problem(line: bytes, width: int) -> str | None:
    fields = line.rstrip(b"\r\n").split(b",")
    if len(fields) != width:
        return f"{len(fields)} fields, the first row has {width} (ragged rows)"
    for column, field in enumerate(fields, start=1):
        text = field.strip().strip(b'"').decode(errors="replace")
        try:
            value = float(text)
        except ValueError:
            return f"column {column}: {text!r} is not a number (CSV input has no header line unless declared)"
        if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
            return f"column {column}: {text} is not a finite float32 value"
    return None


def _checked(piece: npt.NDArray[Any], path: Path, first_row: int) -> npt.NDArray[np.float32]:
    with np.errstate(over="ignore", invalid="ignore"):  # float64 beyond float32's range becomes inf: refused
        values = np.ascontiguousarray(piece, dtype=np.float32)
    finite = np.isfinite(values)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        original = piece[row, column]
        raise BuildError(
            f"{path}: row {first_row + row}, column {column + 1}: {original} is not a finite float32 value"
        )
    return values


def _first_line(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__
