"""Rows and k-means predictions to and from RecordIO-protobuf, through the protobuf library."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError

from recordio.aialgs_data_pb2 import Record
from recordio.framing import FramingError, frame, unframe

FEATURES_KEY = "values"
CLOSEST_CLUSTER = "closest_cluster"
DISTANCE_TO_CLUSTER = "distance_to_cluster"


class RecordError(ValueError):
    """A RecordIO-protobuf payload that cannot be read as k-means rows or predictions."""


def encode_rows(rows: npt.NDArray[np.floating]) -> bytes:
    """One Record per row, its features as `features["values"]` float32 tensor (as the SDK writes)."""
    payloads = []
    for row in np.asarray(rows, dtype=np.float32):
        record = Record()
        record.features[FEATURES_KEY].float32_tensor.values.extend(row.tolist())
        payloads.append(record.SerializeToString())
    return frame(payloads)


def decode_rows(data: bytes) -> npt.NDArray[np.float32]:
    """The feature rows of a RecordIO-protobuf request; every row must have the same width."""
    rows = [_features(record) for record in _records(data)]
    if not rows:
        raise RecordError("no records in the RecordIO-protobuf payload")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise RecordError(f"records have different feature counts: {sorted(widths)}")
    return np.array(rows, dtype=np.float32)


def _records(data: bytes) -> list[Record]:
    records = []
    try:
        for payload in unframe(data):
            record = Record()
            record.ParseFromString(payload)
            records.append(record)
    except (FramingError, DecodeError) as error:
        raise RecordError(str(error) or "malformed protobuf record") from error
    return records


def _features(record: Record) -> list[float]:
    if FEATURES_KEY not in record.features:
        raise RecordError(f'record has no features["{FEATURES_KEY}"]')
    value = record.features[FEATURES_KEY]
    kind = value.WhichOneof("value")
    if kind not in ("float32_tensor", "float64_tensor", "int32_tensor"):
        raise RecordError(f'features["{FEATURES_KEY}"] is {kind}, not a numeric tensor')
    tensor = getattr(value, kind)
    values = [float(v) for v in tensor.values]
    if tensor.keys:  # sparse: values at `keys` of a row `shape[0]` wide, zeros elsewhere
        return densify(list(tensor.keys), list(tensor.shape), values)
    return values


def densify(keys: Sequence[int], shape: Sequence[int], values: Sequence[float]) -> list[float]:
    """A sparse row (keys + shape, as the built-in algorithms accept it) as a dense one."""
    if len(shape) != 1 or len(keys) != len(values):
        raise RecordError(f"sparse row needs one shape and a value per key; got shape {list(shape)}, {len(keys)} keys")
    row = [0.0] * int(shape[0])
    for key, value in zip(keys, values, strict=True):
        if not 0 <= key < shape[0]:
            raise RecordError(f"sparse key {key} is outside the row's shape {shape[0]}")
        row[key] = value
    return row


def encode_predictions(closest: Sequence[float], distances: Sequence[float]) -> bytes:
    """One Record per prediction: label closest_cluster and distance_to_cluster, float32 each."""
    payloads = []
    for cluster, distance in zip(closest, distances, strict=True):
        record = Record()
        record.label[CLOSEST_CLUSTER].float32_tensor.values.append(float(cluster))
        record.label[DISTANCE_TO_CLUSTER].float32_tensor.values.append(float(distance))
        payloads.append(record.SerializeToString())
    return frame(payloads)


def decode_predictions(data: bytes) -> tuple[list[float], list[float]]:
    """(closest_cluster, distance_to_cluster) lists from a RecordIO-protobuf response."""
    closest, distances = [], []
    for record in _records(data):
        try:
            closest.append(record.label[CLOSEST_CLUSTER].float32_tensor.values[0])
            distances.append(record.label[DISTANCE_TO_CLUSTER].float32_tensor.values[0])
        except (KeyError, IndexError) as error:
            raise RecordError(f"prediction record lacks {error}") from error
    return closest, distances
