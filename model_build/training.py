"""Fit k-means here: a coarse fit on a sample seeds Lloyd's algorithm on every row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model_build.errors import BuildError

# Seeding from a converged fit on a sample leaves Lloyd on the full data only a few
# iterations to do. Several seedings of the (cheap) sample fit, best kept, avoid the
# worse local optima a single one lands in now and then.
SAMPLE_ROWS_PER_CLUSTER = 1000
SAMPLE_SEEDINGS = 3
MIN_ROWS_TO_SAMPLE = 20_000


@dataclass(frozen=True)
class FittedModel:
    """Float32 centroids and how well they fit the training rows."""

    centroids: npt.NDArray[np.float32]
    inertia: float
    iterations: int
    seeding: str


def fit_kmeans(rows: npt.NDArray[np.float32], clusters: int, seed: int) -> FittedModel:
    """Fit `clusters` centroids to `rows`; may modify `rows` in place by tiny rounding."""
    if clusters < 1:
        raise BuildError(f"--clusters must be at least 1, got {clusters}")
    if clusters > rows.shape[0]:
        raise BuildError(f"--clusters {clusters} is more than the {rows.shape[0]} training rows")
    from sklearn.cluster import KMeans

    init = _seed_centroids(rows, clusters, seed)
    seeding = (
        "k-means++"
        if isinstance(init, str)
        else f"best of {SAMPLE_SEEDINGS} fits on {clusters * SAMPLE_ROWS_PER_CLUSTER} sampled rows"
    )
    # copy_x=False: sklearn centres the rows in place instead of copying 60k x 784 floats.
    model = KMeans(n_clusters=clusters, init=init, n_init=1, random_state=seed, copy_x=False)
    model.fit(rows)
    centroids = np.ascontiguousarray(model.cluster_centers_, dtype=np.float32)
    return FittedModel(
        centroids=centroids, inertia=float(model.inertia_), iterations=int(model.n_iter_), seeding=seeding
    )


def _seed_centroids(rows: npt.NDArray[np.float32], clusters: int, seed: int) -> npt.NDArray[np.float32] | str:
    sample_size = clusters * SAMPLE_ROWS_PER_CLUSTER
    if rows.shape[0] < max(MIN_ROWS_TO_SAMPLE, 2 * sample_size):
        return "k-means++"
    from sklearn.cluster import KMeans

    picked = np.sort(np.random.default_rng(seed).choice(rows.shape[0], sample_size, replace=False))
    coarse = KMeans(n_clusters=clusters, n_init=SAMPLE_SEEDINGS, random_state=seed).fit(rows[picked])
    return np.asarray(coarse.cluster_centers_, dtype=np.float32)


def inertia(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> float:
    """Sum of squared distances from each row to its nearest centroid (float64 sums)."""
    from model_build.reference import nearest_two

    nearest, _ = nearest_two(rows, centroids)
    return float(np.sum(nearest.squared_distance))
