"""wire.portable reads what the project's writers and the protobuf library write, as wire's own readers do."""

from __future__ import annotations

import numpy as np
import pytest

from recordio.aialgs_data_pb2 import Record
from recordio.framing import frame
from tests.conftest import REPO_ROOT
from tests.test_architecture import imported_roots
from tests.wire.test_round_trips import awkward_rows
from wire import portable, requests
from wire.answers import encode_answers
from wire.answers import read_answers as read_answers_full
from wire.errors import PayloadError
from wire.media_types import CSV, JSON, JSONLINES, PROTOBUF, REQUEST_TYPES, RESPONSE_TYPES

PREDICTED = (np.array([3, 0, 11], dtype=np.float32), np.array([7.2033820152, 0.0, 3.0e-7], dtype=np.float32))


@pytest.mark.parametrize("content_type", REQUEST_TYPES)
def test_every_request_type_reads_as_wire_reads_it(content_type: str) -> None:
    rows = awkward_rows(40, 7)
    body = requests.encode_request(rows, content_type)

    got = portable.read_request(content_type, body)

    assert np.array_equal(got.view(np.uint32), requests.read_request(content_type, body).view(np.uint32))


def sparse_record(keys: list[int], values: list[float], width: int) -> bytes:
    record = Record()
    tensor = record.features["values"].float32_tensor
    tensor.values.extend(values)
    tensor.keys.extend(keys)
    tensor.shape.append(width)
    return record.SerializeToString()


def test_sparse_protobuf_and_json_rows_are_densified_as_wire_does() -> None:
    body = frame([sparse_record([1, 4], [2.5, -1.0], 6), sparse_record([0], [9.0], 6)])
    sparse_json = b'{"instances": [{"data": {"features": {"keys": [1, 4], "shape": [6], "values": [2.5, -1.0]}}}]}'

    assert np.array_equal(portable.read_request(PROTOBUF, body), requests.read_request(PROTOBUF, body))
    assert np.array_equal(portable.read_request(JSON, sparse_json), requests.read_request(JSON, sparse_json))


def test_float64_and_int32_protobuf_tensors_read_as_the_protobuf_library_reads_them() -> None:
    doubles, integers = Record(), Record()
    doubles.features["values"].float64_tensor.values.extend([1.5, -2.25])
    integers.features["values"].int32_tensor.values.extend([-3, 7])
    body = frame([doubles.SerializeToString(), integers.SerializeToString()])

    assert portable.read_request(PROTOBUF, body).tolist() == [[1.5, -2.25], [-3.0, 7.0]]


@pytest.mark.parametrize("content_type", RESPONSE_TYPES)
def test_every_answer_type_reads_as_wire_reads_it(content_type: str) -> None:
    body = encode_answers(*PREDICTED, content_type)

    closest, distances = portable.read_answers(content_type, body)
    expected = read_answers_full(content_type, body)

    assert closest.tolist() == list(expected[0])
    assert np.array_equal(distances.astype(np.float32), np.asarray(expected[1], dtype=np.float32))


@pytest.mark.parametrize(
    ("content_type", "body", "words"),
    [
        (CSV, b"1,2\n3\n", "malformed CSV"),
        (JSON, b'{"rows": []}', "malformed JSON request"),
        (JSONLINES, b'{"features": [1, 2]}\n{"features": [1]}\n', "malformed JSON Lines request"),
        (PROTOBUF, frame([b"\x0a\x05"]), "malformed RecordIO-protobuf"),
    ],
)
def test_bad_requests_are_payload_errors(content_type: str, body: bytes, words: str) -> None:
    with pytest.raises(PayloadError, match=words):
        portable.read_request(content_type, body)


def test_the_portable_readers_import_only_numpy_and_the_standard_library() -> None:
    roots = imported_roots(REPO_ROOT / "wire" / "portable.py")

    assert "numpy" in roots
    assert not roots & {"orjson", "pyarrow", "google", "boto3", "moto"}
