"""Nearest-centroid predictions as the k-means container gives them: float32 Euclidean distances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model_build import ndarray
from model_build.errors import BuildError
from model_build.packaging import unpack_model
from wire.errors import PayloadError


@dataclass(frozen=True)
class Predictions:
    closest_cluster: npt.NDArray[np.float32]
    distance_to_cluster: npt.NDArray[np.float32]


class KMeansPredictor:
    """Holds the centroids; predicts in float64 and reports float32, as exact as float32 allows."""

    def __init__(self, centroids: npt.NDArray[np.float32]) -> None:
        self.centroids = np.asarray(centroids, dtype=np.float64)
        self.squared_norms = np.einsum("cd,cd->c", self.centroids, self.centroids)

    @classmethod
    def from_artifact(cls, artifact: bytes, where: str) -> KMeansPredictor:
        """Load model.tar.gz bytes, validating them as the container would (BuildError if unusable)."""
        return cls.from_model_file(ndarray.decode(unpack_model(artifact, where), where), where)

    @classmethod
    def from_model_file(cls, arrays: list[npt.NDArray[np.generic]], where: str) -> KMeansPredictor:
        """From the decoded model_algo-1: exactly one non-empty float32 (clusters, features) array."""
        (centroids,) = _single_matrix(arrays, where)
        return cls(centroids)

    @property
    def feature_dim(self) -> int:
        return int(self.centroids.shape[1])

    def predict(self, rows: npt.NDArray[np.float32]) -> Predictions:
        if rows.ndim != 2 or rows.shape[1] != self.feature_dim:
            width = rows.shape[1] if rows.ndim == 2 else rows.shape
            raise PayloadError(f"expected {self.feature_dim} features per row, got {width}")
        values = rows.astype(np.float64)
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2: one matrix product; float64 keeps rounding far below float32's.
        squared = np.einsum("rd,rd->r", values, values)[:, None] - 2.0 * values @ self.centroids.T + self.squared_norms
        closest = np.argmin(squared, axis=1)
        nearest = np.maximum(squared[np.arange(len(rows)), closest], 0.0)
        return Predictions(closest.astype(np.float32), np.sqrt(nearest).astype(np.float32))


def _single_matrix(arrays: list[npt.NDArray[np.generic]], where: str) -> list[npt.NDArray[np.float32]]:
    if len(arrays) != 1 or arrays[0].ndim != 2 or arrays[0].dtype != np.float32 or 0 in arrays[0].shape:
        raise BuildError(f"{where}: k-means needs one float32 (clusters, features) array")
    return [np.asarray(arrays[0], dtype=np.float32)]
