"""Request and answer readers that need only numpy and the standard library, for engines that have nothing else.

The drift monitor runs inside SageMaker's prebuilt scikit-learn processing image, which has Python 3.9, numpy,
pandas, SciPy, scikit-learn, pyarrow, boto3 and protobuf 3.20 (aws/sagemaker-scikit-learn-container 1.2-1,
requirements.txt and its base Dockerfile; aws_facts.processing_image), but neither orjson nor the project's gencode
(made by protoc for protobuf 7, which refuses an older runtime). So these readers decode the container's four request
types and four answer types with `json` and numpy, and
RecordIO-protobuf with a reader of the protobuf wire format for the one message the container speaks
(aialgs.data.Record, recordio/aialgs_data.proto). tests/wire/test_portable.py reads what wire.requests,
wire.answers and recordio.codec (the protobuf library itself) write, and compares.

The drift monitor reads many JSON answers at once with wire.arrow_readers (pyarrow, which the image also has), and
these one by one where that reader declines an answer.
"""

from __future__ import annotations

import io
import json
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from recordio.framing import FramingError, unframe
from wire.errors import PayloadError, UnsupportedMediaTypeError
from wire.media_types import CSV, JSON, JSONLINES, PROTOBUF, REQUEST_TYPES, media_type

CLOSEST_CLUSTER = "closest_cluster"
DISTANCE_TO_CLUSTER = "distance_to_cluster"
FEATURES_KEY = "values"

Answers = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]  # (closest_cluster, distance_to_cluster)


# --- requests -------------------------------------------------------------------------------------------------


def read_request(content_type: str | None, body: bytes) -> npt.NDArray[np.float32]:
    """Rows of features from a request body, as the container reads it; PayloadError if it cannot."""
    kind = media_type(content_type)
    reader = _REQUEST_READERS.get(kind)
    if reader is None:
        raise UnsupportedMediaTypeError(f"content type {kind or '(none)'} is not one of {', '.join(REQUEST_TYPES)}")
    return reader(body)


def read_csv(body: bytes) -> npt.NDArray[np.float32]:
    """CSV rows, each value to the nearest float64 then float32 (wire.requests reads small bodies with it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an empty body warns; make it an error like the rest
            return np.loadtxt(io.BytesIO(body), delimiter=",", quotechar='"', dtype=np.float32, ndmin=2)
    except (ValueError, UserWarning) as error:
        raise PayloadError(f"malformed CSV: {str(error).splitlines()[0]}") from error


def _read_json_request(body: bytes) -> npt.NDArray[np.float32]:
    try:
        return _rows([_features(instance) for instance in json.loads(body)["instances"]])
    except (ValueError, KeyError, TypeError) as error:
        raise PayloadError(f"malformed JSON request: {error}") from error


def _read_jsonlines_request(body: bytes) -> npt.NDArray[np.float32]:
    try:
        return _rows([_features(json.loads(line)) for line in body.splitlines() if line.strip()])
    except (ValueError, KeyError, TypeError) as error:
        raise PayloadError(f"malformed JSON Lines request: {error}") from error


def _rows(rows: list[list[float]]) -> npt.NDArray[np.float32]:
    if not rows or len({len(row) for row in rows}) != 1:
        raise ValueError("no rows, or rows of different widths")
    return np.array(rows, dtype=np.float32)


def _features(instance: dict[str, Any]) -> list[float]:
    """Dense `features`, or `data.features` with `values` and, for a sparse row, `keys` and `shape`."""
    if "features" in instance:
        return list(instance["features"])
    tensor = instance["data"]["features"]
    if "keys" in tensor:
        return densify(tensor["keys"], tensor["shape"], tensor["values"])
    return list(tensor["values"])


def densify(keys: list[int], shape: list[int], values: list[float]) -> list[float]:
    """A sparse row (keys + shape) as a dense one; ValueError when the keys do not fit the shape."""
    if len(shape) != 1 or len(keys) != len(values):
        raise ValueError(f"sparse row needs one shape and a value per key; got shape {list(shape)}, {len(keys)} keys")
    row = [0.0] * int(shape[0])
    for key, value in zip(keys, values):  # noqa: B905 (Python 3.9)
        if not 0 <= key < shape[0]:
            raise ValueError(f"sparse key {key} is outside the row's shape {shape[0]}")
        row[key] = float(value)
    return row


def _read_protobuf_request(body: bytes) -> npt.NDArray[np.float32]:
    try:
        return _rows([_tensor_row(record["features"], FEATURES_KEY) for record in _records(body)])
    except (ValueError, KeyError) as error:
        raise PayloadError(f"malformed RecordIO-protobuf: {error}") from error


_REQUEST_READERS: dict[str, Callable[[bytes], npt.NDArray[np.float32]]] = {
    CSV: read_csv,
    JSON: _read_json_request,
    JSONLINES: _read_jsonlines_request,
    PROTOBUF: _read_protobuf_request,
}


# --- answers --------------------------------------------------------------------------------------------------


def read_answers(content_type: str | None, body: bytes) -> Answers:
    """(closest_cluster, distance_to_cluster) from an answer in `content_type` (JSON unless named otherwise)."""
    reader = _ANSWER_READERS.get(media_type(content_type), _read_json_answers)
    try:
        closest, distances = reader(body)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise PayloadError(f"malformed {media_type(content_type) or JSON} answer: {error}") from error
    return np.asarray(closest, dtype=np.float64), np.asarray(distances, dtype=np.float64)


def _read_json_answers(body: bytes) -> tuple[list[float], list[float]]:
    return _pairs(json.loads(body)["predictions"])


def _read_jsonlines_answers(body: bytes) -> tuple[list[float], list[float]]:
    return _pairs([json.loads(line) for line in body.splitlines() if line.strip()])


def _pairs(predictions: list[dict[str, float]]) -> tuple[list[float], list[float]]:
    return [p[CLOSEST_CLUSTER] for p in predictions], [p[DISTANCE_TO_CLUSTER] for p in predictions]


def _read_csv_answers(body: bytes) -> tuple[list[float], list[float]]:
    fields = [line.split(b",") for line in body.splitlines() if line.strip()]
    return [float(row[0]) for row in fields], [float(row[1]) for row in fields]


def _read_protobuf_answers(body: bytes) -> tuple[list[float], list[float]]:
    records = list(_records(body))
    closest = [_tensor_row(record["label"], CLOSEST_CLUSTER)[0] for record in records]
    return closest, [_tensor_row(record["label"], DISTANCE_TO_CLUSTER)[0] for record in records]


_ANSWER_READERS: dict[str, Callable[[bytes], tuple[list[float], list[float]]]] = {
    PROTOBUF: _read_protobuf_answers,
    JSONLINES: _read_jsonlines_answers,
    CSV: _read_csv_answers,
}


# --- RecordIO-protobuf: aialgs.data.Record on the protobuf wire format ----------------------------------------
# Record: features (1) and label (2), each map<string, Value> (entries: key 1, value 2); Value: one of float32_tensor
# (2), float64_tensor (3), int32_tensor (7), bytes (9); each tensor: values (1), keys (2), shape (3), packed or not.

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_TENSOR_FIELDS = {2: "<f", 3: "<d", 7: "varint"}


def _records(body: bytes) -> Iterator[dict[str, dict[str, dict[int, Any]]]]:
    """Each Record's `features` and `label` maps: name -> {tensor field: (values, keys, shape)}."""
    try:
        payloads = list(unframe(body))
    except FramingError as error:
        raise ValueError(str(error)) from error
    if not payloads:
        raise ValueError("no records in the RecordIO-protobuf payload")
    for payload in payloads:
        record: dict[str, dict[str, dict[int, Any]]] = {"features": {}, "label": {}}
        for number, _, value in _fields(payload):
            if number in (1, 2):
                name, tensor = _map_entry(value)
                record["features" if number == 1 else "label"][name] = tensor
        yield record


def _tensor_row(entries: dict[str, dict[int, Any]], name: str) -> list[float]:
    if name not in entries:
        raise ValueError(f'record has no "{name}" tensor')
    (kind, (values, keys, shape)), *_ = entries[name].items() or [(0, ([], [], []))]
    if kind not in _TENSOR_FIELDS:
        raise ValueError(f'"{name}" is not a numeric tensor')
    return densify(keys, shape, values) if keys else values


def _map_entry(data: bytes) -> tuple[str, dict[int, Any]]:
    name, tensors = "", {}
    for number, _, value in _fields(data):
        if number == 1:
            name = value.decode()
        elif number == 2:
            tensors = {kind: _tensor(kind, body) for kind, wire_type, body in _fields(value) if wire_type == _LENGTH}
    return name, tensors


def _tensor(kind: int, data: bytes) -> tuple[list[float], list[int], list[int]]:
    values: list[float] = []
    keys: list[int] = []
    shape: list[int] = []
    for number, wire_type, value in _fields(data):
        if number == 1 and kind in _TENSOR_FIELDS:
            values += _numbers(_TENSOR_FIELDS[kind], wire_type, value)
        elif number in (2, 3):
            (keys if number == 2 else shape).extend(int(v) for v in _numbers("varint", wire_type, value))
    return values, keys, shape


def _numbers(kind: str, wire_type: int, value: Any) -> list[float]:
    if wire_type != _LENGTH:  # one unpacked element
        return [_signed32(value) if kind == "varint" else value]
    if kind == "varint":
        return [_signed32(number) for number in _varints(value)]
    return list(np.frombuffer(value, dtype=kind).astype(np.float64))


def _signed32(number: int) -> int:
    return number - (1 << 64) if number >= 1 << 63 else number


def _varints(data: bytes) -> Iterator[int]:
    offset = 0
    while offset < len(data):
        number, offset = _varint(data, offset)
        yield number


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        if offset >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint in a protobuf record")
        byte = data[offset]
        number |= (byte & 0x7F) << shift
        offset += 1
        shift += 7
        if not byte & 0x80:
            return number, offset


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of one message: ints, floats or the bytes of a sub-message."""
    offset = 0
    while offset < len(data):
        key, offset = _varint(data, offset)
        number, wire_type = key >> 3, key & 7
        value: Any
        if wire_type == _VARINT:
            value, offset = _varint(data, offset)
        elif wire_type in (_FIXED32, _FIXED64):
            size = 4 if wire_type == _FIXED32 else 8
            if offset + size > len(data):
                raise ValueError("truncated fixed-width field in a protobuf record")
            value = struct.unpack_from("<f" if size == 4 else "<d", data, offset)[0]
            offset += size
        elif wire_type == _LENGTH:
            size, offset = _varint(data, offset)
            if offset + size > len(data):
                raise ValueError("truncated length-delimited field in a protobuf record")
            value, offset = data[offset : offset + size], offset + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield number, wire_type, value
