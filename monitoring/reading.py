"""Stream capture files into LiveStats: every line read once, records batched, no file held whole.

A source is a name and an iterator of lines (a local file, or an S3 object's body); `analyse` reads every line,
keeps the records whose `inferenceTime` falls in the window, and batches them: the JSON answers of a batch are read
in one pass (wire.arrow_readers.read_json_answers_batch), other answers one by one, and the features of one request
in `sample_every` (CSV ones joined into one Arrow parse). An unreadable line stops the run with CaptureFileError
naming the file and line: a report never counts rows it did not read.

Imports only the standard library, numpy, pyarrow and the project's modules that need no more: it runs in
SageMaker's scikit-learn processing image (monitoring.processing).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from monitoring.analysis import AnalysisError, LiveStats
from monitoring.capture import CAPTURE_SUFFIX, CaptureError, CaptureRecord, Payload, read_record
from wire.arrow_readers import read_csv_arrow, read_json_answers_batch
from wire.errors import PayloadError, UnsupportedMediaTypeError
from wire.media_types import CSV, JSON, REQUEST_TYPES, RESPONSE_TYPES, media_type
from wire.portable import Answers, read_answers, read_csv, read_request

RECORDS_PER_BATCH = 2000
READ_BUFFER = 4 * 2**20  # a capture line is tens of KB: read in big blocks, not 8 KB ones
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # eventMetadata.inferenceTime as the developer guide prints it
HOUR_FOLDER = re.compile(r"^\d{4}/\d\d/\d\d/\d\d$")
UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is Python 3.11; the processing image may have 3.10)

Source = tuple[str, Iterable[bytes]]  # a capture file's name and its lines


class CaptureFileError(ValueError):
    """A capture file the monitor cannot read: its name, the line, and why."""


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC."""

    start: dt.datetime
    end: dt.datetime

    def hour_folders(self) -> list[str]:
        """The `yyyy/mm/dd/hh` capture folders that can hold records of the window."""
        hour = self.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        folders = []
        while hour < self.end:
            folders.append(hour.strftime("%Y/%m/%d/%H"))
            hour += dt.timedelta(hours=1)
        return folders

    def capture_folders(self, late_hours: int = 0) -> list[str]:
        """`hour_folders` and the `late_hours` folders after the window's end, where records written late land."""
        folders = self.hour_folders()
        last = dt.datetime.strptime(folders[-1], "%Y/%m/%d/%H")
        return folders + [(last + dt.timedelta(hours=1 + index)).strftime("%Y/%m/%d/%H") for index in range(late_hours)]

    def shifted(self, by: dt.timedelta) -> Window:
        """The same window, `by` earlier."""
        return Window(self.start - by, self.end - by)

    def contains(self, inference_time: str) -> bool:
        """Whether a record's time is in the window; times to the second compare as text with the window's ends
        rounded up to a second (a record of second t is in [start, end) exactly when ceil(start) <= t < ceil(end))."""
        if len(inference_time) == 20 and inference_time.endswith("Z"):  # the documented form: compare as text
            return self._start_text <= inference_time < self._end_text
        return self.start <= _parse_time(inference_time) < self.end

    @property
    def _start_text(self) -> str:
        return _ceiling_text(self.start)

    @property
    def _end_text(self) -> str:
        return _ceiling_text(self.end)


def _ceiling_text(moment: dt.datetime) -> str:
    utc = moment.astimezone(UTC)
    whole = utc.replace(microsecond=0)
    return (whole if whole == utc else whole + dt.timedelta(seconds=1)).strftime(TIME_FORMAT)


def _parse_time(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise CaptureError(f"inferenceTime {text!r} is not an ISO 8601 time") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class _Batch:
    """Records waiting to be read together, with where each came from (for an error's message)."""

    json_answers: list[bytes] = field(default_factory=list)  # still escaped, as they stand in the capture line
    json_places: list[str] = field(default_factory=list)
    plain_answers: list[bytes] = field(default_factory=list)  # the bytes the endpoint sent (BASE64 decoded)
    plain_places: list[str] = field(default_factory=list)
    closest: list[npt.NDArray[np.float64]] = field(default_factory=list)
    distances: list[npt.NDArray[np.float64]] = field(default_factory=list)
    csv_requests: list[bytes] = field(default_factory=list)
    csv_places: list[str] = field(default_factory=list)
    rows: list[npt.NDArray[np.float32]] = field(default_factory=list)
    records: int = 0


class Reader:
    """Feeds LiveStats from capture sources; `sample_every`: read the features of one request in that many."""

    def __init__(self, stats: LiveStats, window: Window | None, sample_every: int) -> None:
        self.stats = stats
        self.window = window
        self.sample_every = sample_every
        self.batch = _Batch()
        self.seen = 0

    def read(self, sources: Iterable[Source]) -> None:
        for name, lines in sources:
            self.stats.files += 1
            for number, raw in enumerate(lines, 1):
                if raw.strip():
                    self._line(raw, f"{name} line {number}")
        self._flush()

    def _line(self, raw: bytes, place: str) -> None:
        try:
            record = read_record(raw)
            if self.window and not self.window.contains(record.inference_time):
                return
            self._add(record, place)
        except (CaptureError, UnicodeDecodeError, PayloadError, UnsupportedMediaTypeError) as error:
            raise CaptureFileError(f"{place}: {error}") from error
        if self.batch.records >= RECORDS_PER_BATCH:
            self._flush()

    def _add(self, record: CaptureRecord, place: str) -> None:
        if record.answer is None:
            raise CaptureError("the record holds no answer (the endpoint captures Input only; drift needs Output)")
        answer_type = media_type(record.answer.content_type) or JSON
        if answer_type not in RESPONSE_TYPES:
            raise CaptureError(f"an answer of content type {answer_type}, which the k-means container never sends")
        if record.request is not None and media_type(record.request.content_type) not in REQUEST_TYPES:
            raise CaptureError(f"a request of content type {record.request.content_type!r}, not one of the container's")
        if answer_type == JSON and record.answer.encoding == "JSON":
            self.batch.json_answers.append(record.answer.raw())
            self.batch.json_places.append(place)
        elif answer_type == JSON:
            self.batch.plain_answers.append(record.answer.body())
            self.batch.plain_places.append(place)
        else:
            closest, distances = read_answers(answer_type, record.answer.body())
            self.batch.closest.append(closest)
            self.batch.distances.append(distances)
        if record.request is not None and self.seen % self.sample_every == 0:
            self._add_request(record.request, place)
        self.seen += 1
        self.batch.records += 1

    def _add_request(self, request: Payload, place: str) -> None:
        if media_type(request.content_type) == CSV:
            self.batch.csv_requests.append(_csv_bytes(request))
            self.batch.csv_places.append(place)
        else:
            self.batch.rows.append(read_request(request.content_type, request.body()))

    def _flush(self) -> None:
        batch, self.batch = self.batch, _Batch()
        escaped = _json_answers(batch.json_answers, batch.json_places, b'\\"')
        plain = _json_answers(batch.plain_answers, batch.plain_places, b'"')
        closest_all = np.concatenate([*batch.closest, escaped[0], plain[0]])
        distances_all = np.concatenate([*batch.distances, escaped[1], plain[1]])
        self.stats.add_answers(closest_all, distances_all)
        self.stats.requests += batch.records
        for rows in [*batch.rows, *_csv_rows(batch)]:
            self.stats.add_features(rows)


def _csv_bytes(payload: Payload) -> bytes:
    """A CSV request's bytes; from the line's escaped form directly when its only escapes are line breaks."""
    if payload.encoding == "CSV":
        raw = payload.raw().replace(b"\\n", b"\n")
        if b"\\" not in raw:
            return raw
    return payload.body()


def _json_answers(answers: list[bytes], places: list[str], quote: bytes) -> Answers:
    if not answers:
        return np.zeros(0), np.zeros(0)
    fast = read_json_answers_batch(answers, quote)
    if fast is not None:
        return fast
    parts = []
    for text, place in zip(answers, places):  # noqa: B905 (Python 3.9)
        try:
            body = json.loads(b'"' + text + b'"').encode() if quote != b'"' else text  # escaped: the string first
            parts.append(read_answers(JSON, body))
        except PayloadError as error:
            raise CaptureFileError(f"{place}: {error}") from error
        except ValueError as error:  # escapes that do not decode
            raise CaptureFileError(f"{place}: an answer that is not a JSON string ({error})") from error
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _csv_rows(batch: _Batch) -> list[npt.NDArray[np.float32]]:
    if not batch.csv_requests:
        return []
    try:
        joined = read_csv_arrow(b"\n".join(batch.csv_requests))
        if not np.isnan(joined).any():  # Arrow reads an empty field as NaN; np.loadtxt below names it instead
            return [joined]
    except PayloadError:
        pass
    rows = []
    for text, place in zip(batch.csv_requests, batch.csv_places):  # noqa: B905 (Python 3.9)
        try:
            rows.append(read_csv(text))
        except PayloadError as error:
            raise CaptureFileError(f"{place}: {error}") from error
    if len({block.shape[1] for block in rows}) > 1:
        raise AnalysisError(f"requests of different widths: {sorted({block.shape[1] for block in rows})} features")
    return rows


# --- a local folder of capture files (a processing job's input) -------------------------------------------------


def local_sources(root: Path, endpoint: str, variant: str, window: Window | None) -> Iterator[Source]:
    """The capture files under `root` for the endpoint's variant in the window (see local_paths), as sources."""
    for path in local_paths(root, endpoint, variant, window):
        yield str(path), _lines(path)


def path_sources(paths: list[Path]) -> Iterator[Source]:
    for path in paths:
        yield str(path), _lines(path)


def local_paths(root: Path, endpoint: str, variant: str, window: Window | None, *, late_hours: int = 0) -> list[Path]:
    """The capture files under `root` for the endpoint's variant in the window, in key order.

    `root` is the capture prefix (holding `<endpoint>/<variant>/yyyy/mm/dd/hh/`), one endpoint's folder (holding
    `<variant>/...`), or one variant's (holding `yyyy/...`: give a wider one to analyse several variants). Files of
    the endpoint's other variants are passed over; a file of another endpoint is CaptureFileError. `late_hours`
    folders after the window's end are read too (records written late; each record is kept by its inference time).
    """
    hours = set(window.capture_folders(late_hours)) if window else None
    found = []
    for path in sorted(root.rglob(f"*{CAPTURE_SUFFIX}")):
        parts = path.relative_to(root).parts
        owner, hour = parts[:-5], "/".join(parts[-5:-1])
        if len(parts) < 5 or not HOUR_FOLDER.match(hour) or len(owner) > 2:
            raise CaptureFileError(
                f"{path}: not where SageMaker writes capture files (<endpoint>/<variant>/yyyy/mm/dd/hh/)"
            )
        if len(owner) == 2 and owner[0] != endpoint:
            raise CaptureFileError(f"{path}: a capture file of endpoint {owner[0]}, not of {endpoint}")
        if owner and owner[-1] != variant:
            continue
        if hours is None or hour in hours:
            found.append(path)
    return found


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb", buffering=READ_BUFFER) as stream:
        yield from stream
