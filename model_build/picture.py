"""`centroids.png`: the centroids as images when the feature count is square, else a heat map."""

from __future__ import annotations

import io
import math

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

_MAX_COLUMNS = 10
_TILE_PIXELS = 84  # each centroid image is scaled up to about this size
_LABEL_PIXELS = 14
_HEAT_MAP_WIDTH = 784
_HEAT_MAP_ROW_PIXELS = 12


def render_centroids(centroids: npt.NDArray[np.float32]) -> bytes:
    """PNG bytes of the centroids; Pillow writes no timestamp, so equal centroids give equal bytes."""
    side = math.isqrt(centroids.shape[1])
    picture = _image_grid(centroids, side) if side * side == centroids.shape[1] else _heat_map(centroids)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _to_gray(values: npt.NDArray[np.float32]) -> Image.Image:
    # Dark strokes on white, as the digits are usually drawn; a constant array is white.
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return Image.fromarray((255 - 255 * scaled).astype(np.uint8), mode="L")


def _image_grid(centroids: npt.NDArray[np.float32], side: int) -> Image.Image:
    columns = min(centroids.shape[0], _MAX_COLUMNS)
    rows = math.ceil(centroids.shape[0] / columns)
    scale = max(1, _TILE_PIXELS // side)
    tile = side * scale
    sheet = Image.new("L", (columns * tile, rows * (tile + _LABEL_PIXELS)), color=255)
    draw = ImageDraw.Draw(sheet)
    for index, centroid in enumerate(centroids):
        left, top = (index % columns) * tile, (index // columns) * (tile + _LABEL_PIXELS)
        draw.text((left + 2, top), f"cluster {index}", fill=0)
        image = _to_gray(centroid.reshape(side, side)).resize((tile, tile), Image.Resampling.NEAREST)
        sheet.paste(image, (left, top + _LABEL_PIXELS))
    return sheet


def _heat_map(centroids: npt.NDArray[np.float32]) -> Image.Image:
    clusters, features = centroids.shape
    width = max(features, min(_HEAT_MAP_WIDTH, features * max(1, _HEAT_MAP_WIDTH // features)))
    height = clusters * _HEAT_MAP_ROW_PIXELS
    return _to_gray(centroids).resize((width, height), Image.Resampling.NEAREST)
