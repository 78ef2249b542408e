"""Captured traffic for the monitor's tests: a small build, and capture records as the local runtime writes them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits

from local_aws.kmeans import KMeansPredictor
from local_aws.runtime.capture import Exchange, capture_key, capture_record
from model_build.cli import main as build_model
from model_build.manifest import ARTIFACT_NAME
from wire.answers import encode_answers
from wire.media_types import CSV, JSON
from wire.requests import encode_request

ENDPOINT, VARIANT = "KMeansEndpoint", "AllTraffic"
WHEN = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
CAPTURE_CONFIG: dict[str, Any] = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": [CSV], "JsonContentTypes": [JSON]},
    "DestinationS3Uri": "s3://capture-bucket/capture",
}


def make_build(out: Path, *extra: str) -> Path:
    assert build_model(["--out", str(out), *extra]) == 0
    return out


def digits() -> npt.NDArray[np.float32]:
    rows: npt.NDArray[np.float32] = load_digits().data.astype(np.float32)
    return rows


def in_distribution(count: int, seed: int = 1) -> npt.NDArray[np.float32]:
    """Rows drawn from the training rows: what the model was built on."""
    rows = digits()
    return rows[np.random.default_rng(seed).integers(0, len(rows), count)]


def shifted(count: int, seed: int = 2) -> npt.NDArray[np.float32]:
    """Rows the model has not seen the like of: uniform noise over the pixels' range."""
    return np.random.default_rng(seed).uniform(0, 16, size=(count, 64)).astype(np.float32)


def exchanges(
    build: Path,
    rows: npt.NDArray[np.float32],
    *,
    request_type: str = CSV,
    answer_type: str = JSON,
    per_request: int = 100,
) -> list[Exchange]:
    """One exchange per request of `per_request` rows, answered by the runtime's own k-means."""
    predictor = KMeansPredictor.from_artifact((build / ARTIFACT_NAME).read_bytes(), ARTIFACT_NAME)
    made = []
    for start in range(0, len(rows), per_request):
        block = rows[start : start + per_request]
        predictions = predictor.predict(block)
        answer = encode_answers(predictions.closest_cluster, predictions.distance_to_cluster, answer_type)
        request = encode_request(block, request_type)
        made.append(Exchange(ENDPOINT, VARIANT, request_type, request, answer_type, answer))
    return made


def write_capture(
    root: Path, records: list[Exchange], *, when: dt.datetime = WHEN, config: dict[str, Any] | None = None
) -> Path:
    """One capture object under `root` (the capture prefix), at the key the runtime gives it."""
    key = capture_key("", records[0], when)
    lines = [json.dumps(capture_record(config or CAPTURE_CONFIG, exchange, when)) for exchange in records]
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
