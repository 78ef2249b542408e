"""`centroids.png`: the centroids as images when the feature count is square, else a heat map."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PICTURE_FILE_NAME = "centroids.png"
_MAX_COLUMNS = 10


def render_centroids(centroids: npt.NDArray[np.float32]) -> bytes:
    """PNG bytes of the centroids; metadata is stripped so equal centroids give equal bytes."""
    side = math.isqrt(centroids.shape[1])
    figure = _image_grid(centroids, side) if side * side == centroids.shape[1] else _heat_map(centroids)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return buffer.getvalue()


def _new_figure(width: float, height: float) -> Figure:
    # Imported late: matplotlib costs ~0.3 s to import and only this output needs it.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _image_grid(centroids: npt.NDArray[np.float32], side: int) -> Figure:
    count = centroids.shape[0]
    columns = min(count, _MAX_COLUMNS)
    rows = math.ceil(count / columns)
    figure = _new_figure(1.2 * columns, 1.4 * rows)
    for index, centroid in enumerate(centroids):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(centroid.reshape(side, side), cmap="gray_r")
        axes.set_title(f"cluster {index}", fontsize=8)
        axes.set_axis_off()
    figure.tight_layout()
    return figure


def _heat_map(centroids: npt.NDArray[np.float32]) -> Figure:
    figure = _new_figure(8, max(2.0, 0.3 * centroids.shape[0]))
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(centroids, aspect="auto", cmap="viridis", interpolation="nearest")
    axes.set_xlabel("feature")
    axes.set_ylabel("cluster")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    return figure
