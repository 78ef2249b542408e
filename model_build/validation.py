"""Checks that a matrix is usable as training rows or as k-means centroids."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from model_build.errors import BuildError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_float32_matrix(values: npt.ArrayLike, where: str, what: str) -> npt.NDArray[np.float32]:
    """Return `values` as a C-contiguous float32 (rows, columns) matrix, or fail naming `where`."""
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise BuildError(f"{where}: {what} must be numeric, got dtype {array.dtype}")
    if array.ndim != 2:
        raise BuildError(f"{where}: {what} must be 2-D (rows, features), got shape {array.shape}")
    rows, columns = array.shape
    if rows == 0 or columns == 0:
        raise BuildError(f"{where}: {what} must have at least one row and one feature, got shape {array.shape}")
    _check_finite_float32(array, where, what)
    return np.ascontiguousarray(array, dtype=np.float32)


def _check_finite_float32(array: npt.NDArray[np.generic], where: str, what: str) -> None:
    if not np.issubdtype(array.dtype, np.floating):
        return  # every integer and bool fits float32's range (rounded)
    finite = np.isfinite(array)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise BuildError(f"{where}: {what} holds {array[row, column]} at row {row}, column {column}")
    beyond = np.abs(array) > FLOAT32_MAX
    if beyond.any():
        row, column = np.argwhere(beyond)[0]
        raise BuildError(
            f"{where}: {what} value {array[row, column]} at row {row}, column {column} does not fit in float32"
        )


def as_centroids(values: npt.ArrayLike, where: str) -> npt.NDArray[np.float32]:
    """Validate a (clusters, features) centroid matrix and return it as float32."""
    return as_float32_matrix(values, where, "centroids")
