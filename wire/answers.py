"""Answers: k-means predictions as the container writes them in each content type, and read back.

The container answers JSON as in the k-means docs' example, `{"predictions": [{"distance_to_cluster":
7.2033820152282715, "closest_cluster": 7.0}]}`: distance first, each float32 printed as the double it widens
to (so it reads back as the same float32); JSON Lines one such object per line; CSV
`closest_cluster,distance_to_cluster` per line with the shortest text that reads back as the same float32;
RecordIO-protobuf one Record per row with the two values as float32 labels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import orjson

from recordio.codec import decode_predictions, encode_predictions
from wire.float32_text import shortest_text
from wire.media_types import CSV, JSONLINES, PROTOBUF, media_type

Answers = tuple[list[float], list[float]]  # (closest_cluster, distance_to_cluster), one of each per row


def encode_answers(closest: npt.NDArray[np.float32], distances: npt.NDArray[np.float32], kind: str) -> bytes:
    """The answer body in `kind` (JSON for any kind but JSON Lines, RecordIO-protobuf and CSV)."""
    clusters = closest.tolist()
    if kind == PROTOBUF:
        return encode_predictions(clusters, distances.tolist())
    if kind == CSV:
        texts = [shortest_text(value) for value in distances]
        return "".join(f"{cluster},{text}\n" for cluster, text in zip(clusters, texts, strict=True)).encode()
    objects = [
        f'{{"distance_to_cluster": {distance!r}, "closest_cluster": {cluster!r}}}'
        for cluster, distance in zip(clusters, distances.tolist(), strict=True)
    ]
    if kind == JSONLINES:
        return ("\n".join(objects) + "\n").encode()
    return ('{"predictions": [' + ", ".join(objects) + "]}").encode()


def read_answers(content_type: str | None, body: bytes) -> Answers:
    """(closest_cluster, distance_to_cluster) from an answer in `content_type` (JSON unless named otherwise)."""
    reader = _READERS.get(media_type(content_type), _read_json)
    return reader(body)


def _read_json(body: bytes) -> Answers:
    predictions = orjson.loads(body)["predictions"]
    return [p["closest_cluster"] for p in predictions], [p["distance_to_cluster"] for p in predictions]


def _read_jsonlines(body: bytes) -> Answers:
    predictions = [orjson.loads(line) for line in body.splitlines() if line.strip()]
    return [p["closest_cluster"] for p in predictions], [p["distance_to_cluster"] for p in predictions]


def _read_csv(body: bytes) -> Answers:
    fields = [line.split(b",") for line in body.splitlines() if line.strip()]
    return [float(row[0]) for row in fields], [float(row[1]) for row in fields]


_READERS: dict[str, Callable[[bytes], Answers]] = {
    PROTOBUF: decode_predictions,
    JSONLINES: _read_jsonlines,
    CSV: _read_csv,
}
