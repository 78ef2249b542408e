"""The container's side of the wire: requests it reads and answers it writes, through the `wire` library."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from local_aws.kmeans import Predictions
from wire.answers import encode_answers
from wire.errors import PayloadError, UnsupportedMediaTypeError
from wire.media_types import JSON, RESPONSE_TYPES, media_type
from wire.requests import read_request


def parse_rows(content_type: str | None, body: bytes) -> npt.NDArray[np.float32]:
    """Rows of features from a request body; PayloadError if it cannot be evaluated."""
    rows = read_request(content_type, body)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise PayloadError("no rows in the payload")
    if not np.isfinite(rows).all():
        raise PayloadError("payload holds NaN or infinite values")
    return rows


def response_type(accept: str | None) -> str:
    """The response content type for an Accept header; JSON when absent or a wildcard."""
    for candidate in (media_type(part) for part in (accept or "").split(",")):
        if candidate in RESPONSE_TYPES:
            return candidate
        if candidate in ("", "*/*", "application/*"):
            return JSON
    raise UnsupportedMediaTypeError(f"accept {accept} is not one of {', '.join(RESPONSE_TYPES)}")


def render(predictions: Predictions, kind: str) -> bytes:
    """The response body as the container writes it (see wire.answers)."""
    return encode_answers(predictions.closest_cluster, predictions.distance_to_cluster, kind)
