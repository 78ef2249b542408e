"""The reference set: rows with the answers the endpoint must give for them."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CHUNK_BYTES = 32 * 2**20  # bounds the (rows x clusters x features) differences in memory


@dataclass(frozen=True)
class Nearest:
    """Index and squared Euclidean distance of one centroid per row."""

    cluster: npt.NDArray[np.int64]
    squared_distance: npt.NDArray[np.float64]


def nearest_two(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> tuple[Nearest, Nearest]:
    """The nearest and second-nearest centroid of every row, in float64 arithmetic."""
    chunk = max(1, _CHUNK_BYTES // (8 * centroids.size))
    pairs = [_nearest_two_chunk(rows[start : start + chunk], centroids) for start in range(0, len(rows), chunk)]
    first = Nearest(
        np.concatenate([p[0].cluster for p in pairs]), np.concatenate([p[0].squared_distance for p in pairs])
    )
    second = Nearest(
        np.concatenate([p[1].cluster for p in pairs]), np.concatenate([p[1].squared_distance for p in pairs])
    )
    return first, second


def _nearest_two_chunk(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> tuple[Nearest, Nearest]:
    squared = _squared_distances(rows.astype(np.float64), centroids.astype(np.float64))
    if centroids.shape[0] == 1:
        only = Nearest(np.zeros(len(rows), dtype=np.int64), squared[:, 0])
        return only, Nearest(only.cluster, np.full(len(rows), np.inf))
    order = np.argpartition(squared, 1, axis=1)[:, :2]
    picked = np.take_along_axis(squared, order, axis=1)
    swap = picked[:, 1] < picked[:, 0]
    order[swap] = order[swap][:, ::-1]
    picked[swap] = picked[swap][:, ::-1]
    return Nearest(order[:, 0], picked[:, 0]), Nearest(order[:, 1], picked[:, 1])


def _squared_distances(rows: npt.NDArray[np.float64], centroids: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # Direct differences, not the |x|^2 - 2xc + |c|^2 expansion: no cancellation error.
    differences = rows[:, None, :] - centroids[None, :, :]
    squared: npt.NDArray[np.float64] = np.einsum("rcd,rcd->rc", differences, differences)
    return squared


@dataclass(frozen=True)
class ReferenceSet:
    """Rows, expected answers, and how close each row is to a tie between two centroids."""

    rows: npt.NDArray[np.float32]
    closest_cluster: npt.NDArray[np.int64]
    distance_to_cluster: npt.NDArray[np.float64]
    second_cluster: npt.NDArray[np.int64]
    tie_gap: npt.NDArray[np.float64]

    def to_npz_bytes(self) -> bytes:
        """Serialise as .npz with fixed zip timestamps (np.savez stamps the current time)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in self.__dict__.items():
                entry = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
                entry.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(entry, "w") as stream:
                    np.lib.format.write_array(stream, np.asarray(array), allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def from_npz_bytes(cls, data: bytes) -> ReferenceSet:
        """Read a reference set written by `to_npz_bytes`."""
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return cls(**{name: archive[name] for name in cls.__dataclass_fields__})


def build_reference_set(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> ReferenceSet:
    """Expected `closest_cluster` and Euclidean `distance_to_cluster` from float32 centroids.

    `tie_gap` is the difference between the distances to the two nearest centroids: where
    it is within float32 rounding, the container may legitimately pick either.
    """
    first, second = nearest_two(rows, centroids)
    distance = np.sqrt(first.squared_distance)
    return ReferenceSet(
        rows=np.ascontiguousarray(rows, dtype=np.float32),
        closest_cluster=first.cluster,
        distance_to_cluster=distance,
        second_cluster=second.cluster,
        tie_gap=np.sqrt(second.squared_distance) - distance,
    )


def synthetic_rows(centroids: npt.NDArray[np.float32], count: int, seed: int) -> npt.NDArray[np.float32]:
    """Rows near the centroids, for models brought without data: each centroid plus noise.

    The noise scale is a quarter of the median distance between centroids, so rows stay
    mostly near one centroid yet exercise the distances, not just exact matches.
    """
    rng = np.random.default_rng(seed)
    picks = np.arange(count) % centroids.shape[0]
    scale = 0.25 * typical_spread(centroids) / np.sqrt(centroids.shape[1])
    noise = rng.normal(0.0, scale, size=(count, centroids.shape[1]))
    rows: npt.NDArray[np.float32] = (centroids[picks].astype(np.float64) + noise).astype(np.float32)
    return rows


def typical_spread(centroids: npt.NDArray[np.float32]) -> float:
    """The median distance from each centroid to its nearest other one: a scale for distances."""
    if centroids.shape[0] == 1:
        return float(np.linalg.norm(centroids[0])) or 1.0
    _, second = nearest_two(centroids, centroids)
    return float(np.median(np.sqrt(second.squared_distance))) or 1.0
