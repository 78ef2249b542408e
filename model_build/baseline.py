"""`baseline.json`: the statistics drift is measured against, computed on a build's training rows.

What it holds, per model: each cluster's count and share; per cluster the distribution of `distance_to_cluster`
(quantiles p01..p99, the max, and the decile edges the monitor bins live distances into, with the share of the
training rows in each bin); each feature's mean and standard deviation; and the artifact's sha256, so a monitor can
refuse a baseline of another model.

Computed by `BaselineAccumulator`, chunk by chunk, so a streamed computation (a training job reading shards) makes
it the same way as a build holding every row. Exact: the row counts, cluster shares, feature means and variances
(Chan et al.'s pairwise update of count, mean and sum of squared deviations, in float64). Approximate: the distance
quantiles, read from a fixed-edge histogram per cluster whose edges depend only on the centroids (`DistanceGrid`:
geometric bins from 1e-4 to 1e4 times the median distance between neighbouring centroids, 1.1 % wide, plus a bin for
[0, low) and one above high), so histograms of any chunks add up exactly and a quantile is off by at most one bin's
width (exact min and max clamp both ends). The monitor bins live distances on the same grid.

Same inputs, same bytes: canonical JSON (sorted keys, no spaces, `repr` floats); the chunking is fixed by the build.
Imports numpy and the standard library only: the monitor reads it inside SageMaker's scikit-learn processing image.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

BASELINE_SCHEMA_VERSION = 1
QUANTILES = (0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99)
DECILE_EDGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # the monitor's distance bins: ten, 10 % each
GRID_DECADES_BELOW = 4
GRID_DECADES_ABOVE = 4
GRID_BINS_PER_DECADE = 200  # 10**(1/200): each bin 1.16 % wide
ROWS_PER_CHUNK = 8192


class BaselineError(ValueError):
    """A baseline file that is missing, unreadable, or not of this schema."""


@dataclass(frozen=True)
class DistanceGrid:
    """Fixed histogram edges for distances: [0, low), geometric bins up to high, [high, inf)."""

    low: float
    high: float
    bins: int  # geometric bins between low and high

    @classmethod
    def for_centroids(cls, centroids: npt.NDArray[np.float32]) -> DistanceGrid:
        from model_build.reference import typical_spread

        scale = typical_spread(centroids)
        return cls(
            low=scale * 10.0**-GRID_DECADES_BELOW,
            high=scale * 10.0**GRID_DECADES_ABOVE,
            bins=GRID_BINS_PER_DECADE * (GRID_DECADES_BELOW + GRID_DECADES_ABOVE),
        )

    @property
    def size(self) -> int:
        return self.bins + 2

    def edges(self) -> npt.NDArray[np.float64]:
        """The bins + 1 inner edges, low .. high; bin 0 lies below them, bin `size - 1` above."""
        edges: npt.NDArray[np.float64] = np.geomspace(self.low, self.high, self.bins + 1)
        return edges

    def index(self, distances: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Each distance's bin: 0 below low, size - 1 at or above high."""
        index: npt.NDArray[np.int64] = np.searchsorted(self.edges(), distances, side="right").astype(np.int64)
        return index

    def to_json(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "bins": self.bins}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DistanceGrid:
        return cls(low=float(data["low"]), high=float(data["high"]), bins=int(data["bins"]))


def grid_quantiles(
    counts: npt.NDArray[np.int64], grid: DistanceGrid, low: float, high: float, quantiles: tuple[float, ...]
) -> list[float]:
    """Quantiles of one histogram on `grid`, linear within a bin, clamped to the exact [low, high]."""
    total = int(counts.sum())
    if total == 0:
        return [math.nan] * len(quantiles)
    lower = np.concatenate([[0.0], grid.edges()])
    upper = np.concatenate([grid.edges(), [max(high, grid.high)]])
    cumulative = np.cumsum(counts)
    values = []
    for quantile in quantiles:
        target = quantile * total
        index = min(int(np.searchsorted(cumulative, target, side="left")), len(counts) - 1)
        before = float(cumulative[index - 1]) if index else 0.0
        inside = float(counts[index])
        fraction = (target - before) / inside if inside else 0.0
        value = float(lower[index] + fraction * (upper[index] - lower[index]))
        values.append(min(max(value, low), high))
    return values


def grid_cdf(counts: npt.NDArray[np.int64], grid: DistanceGrid, at: list[float]) -> list[float]:
    """The share of a histogram at or below each of `at`, linear within a bin (the inverse of grid_quantiles)."""
    total = int(counts.sum())
    lower = np.concatenate([[0.0], grid.edges()])
    upper = np.concatenate([grid.edges(), [math.inf]])
    cumulative = np.concatenate([[0], np.cumsum(counts)])
    shares = []
    for value in at:
        index = int(np.searchsorted(upper, value, side="left"))
        width = upper[index] - lower[index]
        fraction = (value - lower[index]) / width if math.isfinite(width) and width > 0 else 1.0
        shares.append(float(cumulative[index] + fraction * counts[index]) / total if total else math.nan)
    return shares


class MomentAccumulator:
    """Count, mean and sum of squared deviations per column, merged chunk by chunk (Chan, Golub, LeVeque 1979)."""

    def __init__(self, width: int) -> None:
        self.count = 0
        self.mean = np.zeros(width, dtype=np.float64)
        self.m2 = np.zeros(width, dtype=np.float64)

    def add(self, rows: npt.NDArray[np.floating[Any]]) -> None:
        if not len(rows):
            return
        block = rows.astype(np.float64)
        mean = block.mean(axis=0)
        self._combine(len(block), mean, ((block - mean) ** 2).sum(axis=0))

    def merge(self, other: MomentAccumulator) -> None:
        """Add what another accumulator saw (another worker's, another shard's)."""
        if other.count:
            self._combine(other.count, other.mean, other.m2)

    def _combine(self, count: int, mean: npt.NDArray[np.float64], m2: npt.NDArray[np.float64]) -> None:
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * count / total)
        self.count = total

    def std(self) -> npt.NDArray[np.float64]:
        spread: npt.NDArray[np.float64] = np.sqrt(self.m2 / self.count) if self.count else np.zeros_like(self.m2)
        return spread


class DistanceHistograms:
    """Per cluster: a histogram of distances on a DistanceGrid, and the exact min and max."""

    def __init__(self, grid: DistanceGrid, clusters: int) -> None:
        self.grid = grid
        self.counts = np.zeros((clusters, grid.size), dtype=np.int64)
        self.low = np.full(clusters, np.inf)
        self.high = np.full(clusters, -np.inf)

    def add(self, clusters: npt.NDArray[np.int64], distances: npt.NDArray[np.float64]) -> None:
        size = self.grid.size
        flat = clusters * size + self.grid.index(distances)
        self.counts += np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)
        np.minimum.at(self.low, clusters, distances)
        np.maximum.at(self.high, clusters, distances)

    def merge(self, other: DistanceHistograms) -> None:
        """Add another's histograms (on the same grid): counts add, the extremes widen."""
        self.counts += other.counts
        self.low = np.minimum(self.low, other.low)
        self.high = np.maximum(self.high, other.high)

    def quantiles(self, cluster: int, quantiles: tuple[float, ...]) -> list[float]:
        return grid_quantiles(
            self.counts[cluster], self.grid, float(self.low[cluster]), float(self.high[cluster]), quantiles
        )


class BaselineAccumulator:
    """Feed training rows chunk by chunk (`add`), then `result()`: the baseline's JSON-ready dict."""

    def __init__(self, centroids: npt.NDArray[np.float32]) -> None:
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        clusters, features = self.centroids.shape
        self.distances = DistanceHistograms(DistanceGrid.for_centroids(self.centroids), clusters)
        self.features = MomentAccumulator(features)

    def add(self, rows: npt.NDArray[np.floating[Any]]) -> None:
        """Add training rows (any number; float32 as the endpoint reads them)."""
        block = np.asarray(rows, dtype=np.float32)
        for start in range(0, len(block), ROWS_PER_CHUNK):
            chunk = block[start : start + ROWS_PER_CHUNK]
            clusters, distances = self._nearest(chunk)
            self.distances.add(clusters, distances)
            self.features.add(chunk)

    def _nearest(self, chunk: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Each row's nearest centroid (one matrix product, as the container finds it) and the distance to it,
        computed from the row's differences to that centroid (no cancellation error)."""
        rows = chunk.astype(np.float64)
        centroids = self.centroids.astype(np.float64)
        squared = np.einsum("cd,cd->c", centroids, centroids) - 2.0 * rows @ centroids.T
        clusters = np.argmin(squared, axis=1).astype(np.int64)
        differences = rows - centroids[clusters]
        return clusters, np.sqrt(np.einsum("rd,rd->r", differences, differences))

    def result(self, *, artifact_sha256: str, rows_source: str) -> dict[str, Any]:
        """The baseline as a JSON-ready dict (see `encode_baseline`)."""
        rows = self.features.count
        if rows == 0:
            raise BaselineError("a baseline needs at least one row")
        counts = self.distances.counts.sum(axis=1)
        return {
            "schema_version": BASELINE_SCHEMA_VERSION,
            "artifact_sha256": artifact_sha256,
            "rows": rows,
            "rows_source": rows_source,
            "clusters": len(counts),
            "feature_dim": int(self.centroids.shape[1]),
            "distance": "euclidean",
            "distance_grid": self.distances.grid.to_json(),
            "cluster_counts": counts.tolist(),
            "cluster_shares": (counts / rows).tolist(),
            "distance_by_cluster": [self._cluster_distances(index) for index in range(len(counts))],
            "feature_mean": self.features.mean.tolist(),
            "feature_std": self.features.std().tolist(),
        }

    def _cluster_distances(self, cluster: int) -> dict[str, Any] | None:
        histogram = self.distances.counts[cluster]
        if not histogram.sum():
            return None  # a cluster no training row falls in: nothing to compare its traffic with
        quantiles = self.distances.quantiles(cluster, QUANTILES)
        edges = self.distances.quantiles(cluster, DECILE_EDGES)
        below = [0.0, *grid_cdf(histogram, self.distances.grid, edges), 1.0]
        return {
            "quantiles": {quantile_name(q): value for q, value in zip(QUANTILES, quantiles)},  # noqa: B905 (Python 3.9)
            "min": float(self.distances.low[cluster]),
            "max": float(self.distances.high[cluster]),
            "bin_edges": edges,
            "bin_shares": [max(0.0, below[index + 1] - below[index]) for index in range(len(below) - 1)],
        }


def quantile_name(quantile: float) -> str:
    return f"p{round(quantile * 100):02d}"


def encode_baseline(baseline: dict[str, Any]) -> bytes:
    """Canonical JSON: the same baseline, the same bytes."""
    return (json.dumps(baseline, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode()


def compute_baseline(
    rows: npt.NDArray[np.floating[Any]], centroids: npt.NDArray[np.float32], *, artifact_sha256: str, rows_source: str
) -> bytes:
    """The baseline file's bytes for rows held in memory (a streamed build feeds a BaselineAccumulator itself)."""
    accumulator = BaselineAccumulator(centroids)
    accumulator.add(rows)
    return encode_baseline(accumulator.result(artifact_sha256=artifact_sha256, rows_source=rows_source))


def decode_baseline(data: bytes, where: str) -> dict[str, Any]:
    """A baseline file's dict; BaselineError naming `where` when it is not one of this schema."""
    try:
        baseline = json.loads(data)
        version = baseline["schema_version"]
        clusters = int(baseline["clusters"])
        consistent = len(baseline["cluster_shares"]) == len(baseline["distance_by_cluster"]) == clusters
    except (ValueError, KeyError, TypeError) as error:
        raise BaselineError(f"{where}: not a baseline file ({error})") from error
    if version != BASELINE_SCHEMA_VERSION or not consistent:
        raise BaselineError(f"{where}: baseline schema {version} (expected {BASELINE_SCHEMA_VERSION}) or inconsistent")
    return dict(baseline)
