"""Capture records read in the written order and in any other, and anything else refused."""

from __future__ import annotations

import base64
import json

import pytest

from local_aws.runtime.capture import Exchange, capture_record
from monitoring.capture import CaptureError, read_record
from tests.monitoring.traffic import CAPTURE_CONFIG, WHEN

EXCHANGE = Exchange("e", "v", "text/csv", b"1,2\n3,4\n", "application/json", b'{"predictions": []}', 'id-"7"')


def written() -> dict[str, object]:
    return capture_record(CAPTURE_CONFIG, EXCHANGE, WHEN)


@pytest.mark.parametrize(
    "line",
    [
        json.dumps(written()),  # as the local runtime writes it
        json.dumps(written(), separators=(",", ":")),  # as SageMaker's files print it
        json.dumps(dict(reversed(list(written().items())))),  # another key order: walked
        json.dumps(written(), indent=1).replace("\n", " "),  # other white space
    ],
)
def test_a_record_reads_the_same_however_its_keys_are_laid_out(line: str) -> None:
    record = read_record(line.encode())

    assert record.inference_time == "2026-12-01T10:30:00Z"
    assert record.request is not None
    assert record.answer is not None
    assert (record.request.content_type, record.request.encoding, record.request.body()) == (
        "text/csv", "CSV", b"1,2\n3,4\n"
    )  # fmt: skip
    assert (record.answer.encoding, record.answer.body()) == ("JSON", b'{"predictions": []}')


def test_base64_data_decodes_to_the_bytes_the_endpoint_saw() -> None:
    config = {**CAPTURE_CONFIG, "CaptureContentTypeHeader": {}}
    record = read_record(json.dumps(capture_record(config, EXCHANGE, WHEN)).encode())

    assert record.request is not None
    assert record.request.encoding == "BASE64"
    assert record.request.body() == b"1,2\n3,4\n"
    assert record.request.raw() == base64.b64encode(b"1,2\n3,4\n")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (json.dumps(written())[:-40], "not a JSON capture record"),
        ("1,2,3", "not a JSON capture record"),
        (json.dumps(written()) + " {}", "text after the capture record"),
        (json.dumps({"captureData": {}, "eventMetadata": {}}), "no captureData"),
        (json.dumps(written()).replace('"encoding": "CSV"', '"encoding": "GZIP"'), "is not one of CSV, JSON, BASE64"),
        (json.dumps(written()).replace('"inferenceTime"', '"time"'), "eventMetadata.inferenceTime is not a string"),
    ],
)
def test_anything_else_is_a_capture_error(line: str, words: str) -> None:
    with pytest.raises(CaptureError, match=words):
        read_record(line.encode())


def test_text_outside_ascii_keeps_each_data_string_whole() -> None:
    """A walked line's spans are found in its text and kept as byte offsets: UTF-8 before them moves them."""
    exchange = Exchange("e", "v", "text/csv", b"1,2\n", "application/json", b'{"predictions": []}', "id-\u00e9\u6f22")
    line = json.dumps(dict(reversed(list(capture_record(CAPTURE_CONFIG, exchange, WHEN).items()))), ensure_ascii=False)

    record = read_record(line.encode())

    assert record.request is not None
    assert record.answer is not None
    assert (record.request.body(), record.answer.body()) == (b"1,2\n", b'{"predictions": []}')


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (json.dumps(written()).replace('{"captureData": ', '{"captureData":\x0c', 1).encode(), CaptureError),
        (json.dumps(written()).replace('"text/csv"', '"text/csv\x01"', 1).encode(), CaptureError),
        (
            json.dumps(written()).replace('"eventVersion": "0"', '"eventVersion": "\xff"').encode("latin-1"),
            UnicodeError,
        ),
    ],
    ids=["white space JSON does not have", "a control character in a name", "metadata that is not UTF-8"],
)
def test_what_json_refuses_is_refused_however_the_line_is_laid_out(line: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_record(line)
