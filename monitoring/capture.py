"""SageMaker's data-capture records, read one JSON line at a time without decoding what is not needed.

A capture object holds one JSON object per line (developer guide, "Capture data from real-time endpoint";
CONTRACTS.md; written here by local_aws/runtime/capture.py):
`{"captureData": {"endpointInput": {"observedContentType", "mode", "data", "encoding"}, "endpointOutput": {...}},
"eventMetadata": {"eventId", "inferenceId"?, "inferenceTime"}, "eventVersion"}`, `encoding` CSV, JSON or BASE64.

The request's `data` is most of a line (a 100-row CSV request is 20 KB), and the monitor reads the features of only
a sample of requests, so `read_record` keeps each `data` string as a span of the line's bytes, decoded only when
asked. Records in the order SageMaker and the local runtime write their keys are matched by three regular
expressions around the two data strings (the request's end found with `bytes.find`, the answer's from the end of
the line, at C speed); any other line is decoded and walked key by key (keys in any order, any white space), and
anything that is not a JSON object of that shape is CaptureError.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, NamedTuple

CAPTURE_SUFFIX = ".jsonl"
ENCODINGS = ("CSV", "JSON", "BASE64")
_WHITE = " \t\r\n"


class CaptureError(ValueError):
    """A line that is not a SageMaker capture record."""


class Payload(NamedTuple):  # a tuple, not a dataclass: made twice for every line read, at a quarter of the cost
    """One side of an exchange: its content type, encoding, and where its `data` string lies in the line's bytes."""

    content_type: str
    encoding: str
    line: bytes
    start: int  # the index of the string's opening quote
    end: int  # one past its closing quote

    def raw(self) -> bytes:
        """The `data` string as it stands in the line: still JSON-escaped."""
        return self.line[self.start + 1 : self.end - 1]

    def text(self) -> str:
        """The `data` string, decoded from UTF-8 and its JSON escapes."""
        quoted = self.line[self.start : self.end].decode()
        if "\\" not in quoted:
            return quoted[1:-1]
        text, _ = scanstring(quoted, 1, True)
        return str(text)

    def body(self) -> bytes:
        """The bytes the endpoint saw: BASE64 decoded, CSV and JSON text as UTF-8."""
        if self.encoding != "BASE64":
            raw = self.raw()
            return raw if b"\\" not in raw else self.text().encode()
        try:
            return base64.b64decode(self.raw(), validate=True)  # base64 text has nothing to escape
        except (binascii.Error, ValueError) as error:
            raise CaptureError(f"BASE64 data that does not decode ({error})") from error


class CaptureRecord(NamedTuple):
    request: Payload | None  # None when the config captured Output only
    answer: Payload | None  # None when it captured Input only
    inference_time: str  # `2022-02-14T17:25:49Z`


def read_record(line: bytes) -> CaptureRecord:
    """The record on one line (its bytes, decoded only where needed); CaptureError when the line is not one."""
    return _in_written_order(line) or _walked(line)


_S = r"[ \t\r\n]*"  # JSON's white space (a bytes pattern's \s would take \x0b and \x0c too)
_NAME = r'"([^"\\\x00-\x1f]*)"'  # a string with no escape and no control character
_HEAD = re.compile(
    rf'{_S}\{{{_S}"captureData"{_S}:{_S}\{{{_S}"endpointInput"{_S}:{_S}\{{{_S}"observedContentType"{_S}:{_S}{_NAME}'
    rf'{_S},{_S}"mode"{_S}:{_S}"INPUT"{_S},{_S}"data"{_S}:{_S}"'.encode()
)
_MIDDLE = re.compile(
    rf'"{_S},{_S}"encoding"{_S}:{_S}{_NAME}{_S}\}}{_S},{_S}"endpointOutput"{_S}:{_S}\{{{_S}"observedContentType"{_S}:'
    rf'{_S}{_NAME}{_S},{_S}"mode"{_S}:{_S}"OUTPUT"{_S},{_S}"data"{_S}:{_S}"'.encode()
)
_TAIL = re.compile(
    rf'"{_S},{_S}"encoding"{_S}:{_S}{_NAME}{_S}\}}{_S}\}}{_S},{_S}"eventMetadata"{_S}:{_S}\{{{_S}"eventId"{_S}:{_S}'
    rf'"[^"\\\x00-\x1f]*"{_S},{_S}(?:"inferenceId"{_S}:{_S}"(?:[^"\\\x00-\x1f]|\\.)*"{_S},{_S})?"inferenceTime"{_S}:{_S}{_NAME}'
    rf"{_S}\}}"
    rf'{_S},{_S}"eventVersion"{_S}:{_S}"[^"\\\x00-\x1f]*"{_S}\}}{_S}$'.encode()
)
_DATA_END = (b'", "encoding"', b'","encoding"')  # a data string's closing quote, as json.dumps and SageMaker write it
_ENCODINGS = tuple(encoding.encode() for encoding in ENCODINGS)


def _in_written_order(line: bytes) -> CaptureRecord | None:
    """The record when its keys come as SageMaker writes them; None otherwise (the caller walks it)."""
    head = _HEAD.match(line)
    if head is None:
        return None
    request_end = line.find(b'"', head.end())
    if request_end < 0 or line[request_end - 1] == ord("\\"):
        return None
    middle = _MIDDLE.match(line, request_end)
    if middle is None:
        return None
    answer_end = _find_last(line, _DATA_END, middle.end())
    tail = _TAIL.match(line, answer_end) if answer_end >= 0 else None
    if tail is None or middle.group(1) not in _ENCODINGS or tail.group(1) not in _ENCODINGS:
        return None
    line[tail.start() :].decode()  # the metadata must be UTF-8 as any JSON text: UnicodeDecodeError otherwise
    names = [text.decode() for text in (head.group(1), middle.group(1), middle.group(2), tail.group(1), tail.group(2))]
    request = Payload(names[0], names[1], line, head.end() - 1, request_end + 1)
    answer = Payload(names[2], names[3], line, middle.end() - 1, tail.start() + 1)
    return CaptureRecord(request, answer, names[4])


def _find_last(line: bytes, patterns: tuple[bytes, ...], start: int) -> int:
    """Where the last occurrence after `start` of the first of `patterns` that occurs is, -1 if none (they are
    tried in turn: each is one layout).

    A data string's closing quote followed by `, "encoding"` cannot occur inside a JSON string (its quotes would
    be escaped), so in a record laid out as written the last one ends the answer's data: searching from the end of
    the line finds it after the short tail, not after the whole answer (whose escaped quotes the search would stop
    at one by one)."""
    for pattern in patterns:
        index = line.rfind(pattern, start)
        if index >= 0:
            return index
    return -1


def _walked(raw: bytes) -> CaptureRecord:
    line = raw.decode()
    try:
        top, end = _object(line, _skip(line, 0))
    except (IndexError, ValueError) as error:
        raise CaptureError(f"not a JSON capture record ({error})") from error
    if _skip(line, end) != len(line):
        raise CaptureError("text after the capture record")
    data, metadata = top.get("captureData"), top.get("eventMetadata")
    if not isinstance(data, dict) or not isinstance(metadata, dict) or not data:
        raise CaptureError("no captureData or eventMetadata object")
    time = _string(line, metadata.get("inferenceTime"), "eventMetadata.inferenceTime")
    sides = [_payload(raw, line, data, key) for key in ("endpointInput", "endpointOutput")]
    return CaptureRecord(sides[0], sides[1], time)


def _payload(raw: bytes, line: str, data: dict[str, Any], key: str) -> Payload | None:
    side = data.get(key)
    if side is None:
        return None
    if not isinstance(side, dict) or not isinstance(side.get("data"), tuple):
        raise CaptureError(f"captureData.{key} has no data string")
    encoding = _string(line, side.get("encoding"), f"{key}.encoding")
    if encoding not in ENCODINGS:
        raise CaptureError(f"captureData.{key}.encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    content_type = _string(line, side.get("observedContentType"), f"{key}.observedContentType")
    start, end = side["data"]
    return Payload(content_type, encoding, raw, _byte_index(line, raw, start), _byte_index(line, raw, end))


def _byte_index(line: str, raw: bytes, index: int) -> int:
    """Where character `index` of the decoded line starts in its bytes (the same index when the line is ASCII)."""
    return index if len(line) == len(raw) else len(line[:index].encode())


def _string(line: str, span: Any, name: str) -> str:
    if not isinstance(span, tuple):
        raise CaptureError(f"{name} is not a string")
    try:
        text, _ = scanstring(line, span[0] + 1, True)
    except ValueError as error:  # a bad escape or a control character
        raise CaptureError(f"{name} is not a JSON string ({error})") from error
    return str(text)


def _skip(line: str, index: int) -> int:
    while index < len(line) and line[index] in _WHITE:
        index += 1
    return index


def _object(line: str, index: int) -> tuple[dict[str, Any], int]:
    """An object's members: nested objects as dicts, strings as (start, end) spans, other values decoded."""
    if line[index] != "{":
        raise ValueError(f"expected an object at {index}")
    members: dict[str, Any] = {}
    index = _skip(line, index + 1)
    if line[index] == "}":
        return members, index + 1
    while True:
        if line[index] != '"':
            raise ValueError(f"expected a key at {index}")
        key, index = scanstring(line, index + 1, True)
        index = _skip(line, index)
        if line[index] != ":":
            raise ValueError(f"expected ':' at {index}")
        members[key], index = _value(line, _skip(line, index + 1))
        index = _skip(line, index)
        if line[index] == "}":
            return members, index + 1
        if line[index] != ",":
            raise ValueError(f"expected ',' or '}}' at {index}")
        index = _skip(line, index + 1)


def _value(line: str, index: int) -> tuple[Any, int]:
    if line[index] == "{":
        return _object(line, index)
    if line[index] == '"':
        end = _string_end(line, index)
        return (index, end), end
    value, end = json.JSONDecoder().raw_decode(line, index)
    return value, end


def _string_end(line: str, start: int) -> int:
    """One past the closing quote of the string opening at `start`.

    A string with no escaped quote (CSV and BASE64 data) ends at the next quote, found at C speed; one with
    escaped quotes (JSON data) is left to json's C string scanner.
    """
    index = line.find('"', start + 1)
    if index < 0:
        raise ValueError(f"unterminated string at {start}")
    if line[index - 1] != "\\":
        return index + 1
    _, end = scanstring(line, start + 1, True)
    return int(end)
