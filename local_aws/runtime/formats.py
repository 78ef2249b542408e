"""Request parsing and response rendering for the content types the k-means container speaks."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

from local_aws.kmeans import PayloadError, Predictions
from recordio.codec import RecordError, decode_rows, densify, encode_predictions

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
PROTOBUF = "application/x-recordio-protobuf"
REQUEST_TYPES = (CSV, JSON, JSONLINES, PROTOBUF)
RESPONSE_TYPES = (JSON, JSONLINES, PROTOBUF, CSV)


class UnsupportedMediaTypeError(ValueError):
    """A Content-Type or Accept the container does not handle."""


def media_type(header: str | None) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return (header or "").split(";")[0].strip().lower()


def parse_rows(content_type: str | None, body: bytes) -> npt.NDArray[np.float32]:
    """Rows of features from a request body; PayloadError if it cannot be evaluated."""
    kind = media_type(content_type)
    parser = _PARSERS.get(kind)
    if parser is None:
        raise UnsupportedMediaTypeError(f"content type {kind or '(none)'} is not one of {', '.join(REQUEST_TYPES)}")
    rows = parser(body)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise PayloadError("no rows in the payload")
    if not np.isfinite(rows).all():
        raise PayloadError("payload holds NaN or infinite values")
    return rows


# Arrow pays ~10 ms per request for its 784 column parsers; np.loadtxt is faster below this size.
ARROW_MIN_BYTES = 256 * 1024


def _parse_csv(body: bytes) -> npt.NDArray[np.float32]:
    """Each value to the nearest float64, then float32 (exact either way); big bodies by Arrow's C++ reader."""
    return _parse_csv_arrow(body) if len(body) >= ARROW_MIN_BYTES else _parse_csv_numpy(body)


def _parse_csv_numpy(body: bytes) -> npt.NDArray[np.float32]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an empty body warns; make it an error like the rest
            return np.loadtxt(io.BytesIO(body), delimiter=",", quotechar='"', dtype=np.float32, ndmin=2)
    except (ValueError, UserWarning) as error:
        raise PayloadError(f"malformed CSV: {str(error).splitlines()[0]}") from error


def _parse_csv_arrow(body: bytes) -> npt.NDArray[np.float32]:
    """C++ speed with the GIL released, so concurrent requests parse side by side."""
    columns = [str(index) for index in range(_first_row(body).count(b",") + 1)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(body),
            read_options=pa_csv.ReadOptions(column_names=columns),
            convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.float64())),
        )
    except pa.ArrowInvalid as error:
        raise PayloadError(f"malformed CSV: {str(error).splitlines()[0]}") from error
    rows = np.empty((table.num_rows, len(columns)), dtype=np.float32)
    for index, column in enumerate(table.columns):
        rows[:, index] = column.to_numpy()  # an empty field is null, hence NaN, which parse_rows refuses
    return rows


def _first_row(body: bytes) -> bytes:
    return body.lstrip(b"\r\n").split(b"\n", 1)[0]


def _parse_json(body: bytes) -> npt.NDArray[np.float32]:
    try:
        instances = json.loads(body)["instances"]
        rows = [_instance_features(instance) for instance in instances]
        return np.array(rows, dtype=np.float32)
    except (ValueError, KeyError, TypeError) as error:
        raise PayloadError(f"malformed JSON request: {error}") from error


def _parse_jsonlines(body: bytes) -> npt.NDArray[np.float32]:
    """One instance per line: `{"features": [...]}` or `{"data": {"features": {...}}}`."""
    try:
        rows = [_instance_features(json.loads(line)) for line in body.splitlines() if line.strip()]
        return np.array(rows, dtype=np.float32)
    except (ValueError, KeyError, TypeError) as error:
        raise PayloadError(f"malformed JSON Lines request: {error}") from error


def _instance_features(instance: dict[str, Any]) -> list[float]:
    """Dense `features`, or `data.features` with `values` and, for a sparse row, `keys` and `shape`."""
    if "features" in instance:
        features: list[float] = instance["features"]
        return features
    tensor = instance["data"]["features"]
    if "keys" in tensor:
        try:
            return densify(tensor["keys"], tensor["shape"], tensor["values"])
        except RecordError as error:
            raise ValueError(str(error)) from error
    values: list[float] = tensor["values"]
    return values


def _parse_protobuf(body: bytes) -> npt.NDArray[np.float32]:
    try:
        return decode_rows(body)
    except RecordError as error:
        raise PayloadError(f"malformed RecordIO-protobuf: {error}") from error


_PARSERS: dict[str, Callable[[bytes], npt.NDArray[np.float32]]] = {
    CSV: _parse_csv,
    JSON: _parse_json,
    JSONLINES: _parse_jsonlines,
    PROTOBUF: _parse_protobuf,
}


def response_type(accept: str | None) -> str:
    """The response content type for an Accept header; JSON when absent or a wildcard."""
    for candidate in (media_type(part) for part in (accept or "").split(",")):
        if candidate in RESPONSE_TYPES:
            return candidate
        if candidate in ("", "*/*", "application/*"):
            return JSON
    raise UnsupportedMediaTypeError(f"accept {accept} is not one of {', '.join(RESPONSE_TYPES)}")


def render(predictions: Predictions, kind: str) -> bytes:
    """The response body as the container writes it.

    JSON as in the k-means docs' example: `{"predictions": [{"distance_to_cluster": 7.2033820152282715,
    "closest_cluster": 7.0}]}`: distance first, each float32 printed as the double it widens to (so it reads
    back as the same float32). CSV: the shortest text that reads back as the same float32.
    """
    closest = predictions.closest_cluster.tolist()
    if kind == PROTOBUF:
        return encode_predictions(closest, predictions.distance_to_cluster.tolist())
    if kind == CSV:
        distances = [_float32_text(value) for value in predictions.distance_to_cluster]
        return "".join(f"{cluster},{distance}\n" for cluster, distance in zip(closest, distances, strict=True)).encode()
    objects = [
        f'{{"distance_to_cluster": {distance!r}, "closest_cluster": {cluster!r}}}'
        for cluster, distance in zip(closest, predictions.distance_to_cluster.tolist(), strict=True)
    ]
    if kind == JSONLINES:
        return ("\n".join(objects) + "\n").encode()
    return ('{"predictions": [' + ", ".join(objects) + "]}").encode()


def _float32_text(value: np.float32) -> str:
    return np.format_float_positional(value, unique=True, trim="0")
