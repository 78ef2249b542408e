"""Live traffic against a baseline: accumulate answers and features, then the drift report.

`LiveStats` takes answers (closest cluster, distance) and sampled feature rows in blocks; nothing it keeps grows
with the traffic (counts per cluster and bin, one fixed-edge distance histogram per cluster, feature moments).
`drift_report` turns them into the report: the cluster shares against the baseline's with their population
stability index (overall, and each cluster's term of it), each cluster's distance quantiles against the
baseline's and the PSI of its distances over the baseline's deciles, the share of rows farther from their centroid
than the baseline's 99th percentile, and the features that moved most. Thresholds: monitoring.settings.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from model_build.baseline import QUANTILES, DistanceGrid, DistanceHistograms, MomentAccumulator, quantile_name
from monitoring.settings import Thresholds

DRIFT, NO_DRIFT, TOO_FEW_ROWS = "drift", "no drift", "too few rows"


class AnalysisError(ValueError):
    """Traffic that cannot be measured against this baseline (another model's answers or rows)."""


class LiveStats:
    """What one variant's captured traffic adds up to, against one baseline."""

    def __init__(self, baseline: dict[str, Any]) -> None:
        self.baseline = baseline
        self.clusters = int(baseline["clusters"])
        self.feature_dim = int(baseline["feature_dim"])
        self.histograms = DistanceHistograms(DistanceGrid.from_json(baseline["distance_grid"]), self.clusters)
        self.edges = np.array([_edges(entry) for entry in baseline["distance_by_cluster"]], dtype=np.float64)
        self.p99 = np.array([_p99(entry) for entry in baseline["distance_by_cluster"]], dtype=np.float64)
        self.bins = np.zeros((self.clusters, self.edges.shape[1] + 1), dtype=np.int64)
        self.beyond_p99 = np.zeros(self.clusters, dtype=np.int64)
        self.features = MomentAccumulator(self.feature_dim)
        self.rows = 0
        self.requests = 0
        self.files = 0

    def add_answers(self, closest: npt.NDArray[np.float64], distances: npt.NDArray[np.float64]) -> None:
        """One block of answers; AnalysisError when one names a cluster the baseline does not have."""
        if not len(closest):
            return
        clusters = closest.astype(np.int64)
        if np.any(clusters != closest) or clusters.min() < 0 or clusters.max() >= self.clusters:
            bad = closest[(clusters != closest) | (clusters < 0) | (clusters >= self.clusters)][0]
            raise AnalysisError(
                f"an answer names cluster {bad:g}, but the baseline's model has clusters 0..{self.clusters - 1}: "
                "traffic of another model?"
            )
        if not np.all(np.isfinite(distances)) or np.any(distances < 0):
            raise AnalysisError("an answer has a distance that is negative or not a number")
        self.histograms.add(clusters, distances)
        bins = (distances[:, None] > self.edges[clusters]).sum(axis=1)
        self.bins += np.bincount(clusters * self.bins.shape[1] + bins, minlength=self.bins.size).reshape(
            self.bins.shape
        )
        self.beyond_p99 += np.bincount(clusters[distances > self.p99[clusters]], minlength=self.clusters)
        self.rows += len(clusters)

    def merge(self, other: LiveStats) -> None:
        """Add another reader's figures (another worker's files) against the same baseline."""
        self.histograms.merge(other.histograms)
        self.bins += other.bins
        self.beyond_p99 += other.beyond_p99
        self.features.merge(other.features)
        self.rows += other.rows
        self.requests += other.requests
        self.files += other.files

    def add_features(self, rows: npt.NDArray[np.float32]) -> None:
        """One block of request rows (a sample); AnalysisError when they are not the baseline's width."""
        if rows.ndim != 2 or rows.shape[1] != self.feature_dim:
            width = rows.shape[1] if rows.ndim == 2 else 0
            raise AnalysisError(f"requests of {width} features, but the baseline's model takes {self.feature_dim}")
        self.features.add(rows)


def _edges(entry: dict[str, Any] | None) -> list[float]:
    return list(entry["bin_edges"]) if entry else [math.inf] * 9  # no baseline rows: every live row in bin 0


def _p99(entry: dict[str, Any] | None) -> float:
    return float(entry["quantiles"]["p99"]) if entry else -math.inf  # any live row of it lies beyond


def psi_terms(expected: npt.NDArray[np.float64], actual: npt.NDArray[np.float64], epsilon: float) -> list[float]:
    """Each bin's term of the population stability index, sum((a - e) * ln(a / e)), zero shares as `epsilon`."""
    e = np.maximum(expected, epsilon)
    a = np.maximum(actual, epsilon)
    terms: list[float] = ((a - e) * np.log(a / e)).tolist()
    return terms


def drift_report(stats: LiveStats, thresholds: Thresholds) -> dict[str, Any]:
    """The report of one variant: figures, the verdict and the reasons for it."""
    baseline = stats.baseline
    shares = stats.bins.sum(axis=1) / stats.rows if stats.rows else np.zeros(stats.clusters)
    terms = psi_terms(np.asarray(baseline["cluster_shares"], dtype=np.float64), shares, thresholds.psi_epsilon)
    clusters = [
        _cluster(stats, index, float(shares[index]), terms[index], thresholds) for index in range(stats.clusters)
    ]
    beyond = float(stats.beyond_p99.sum() / stats.rows) if stats.rows else 0.0
    report: dict[str, Any] = {
        "rows": stats.rows,
        "requests": stats.requests,
        "files": stats.files,
        "feature_rows": stats.features.count,
        "baseline": {
            "artifact_sha256": baseline["artifact_sha256"],
            "rows": baseline["rows"],
            "rows_source": baseline["rows_source"],
        },
        "share_psi": float(sum(terms)),
        "beyond_p99_share": beyond,
        "clusters": clusters,
        "features_moved": _features_moved(stats, thresholds.top_features),
        "thresholds": thresholds.to_json(),
    }
    report["verdict"], report["reasons"] = _verdict(report, thresholds)
    report["warnings"] = _warnings(report, thresholds) if report["verdict"] != TOO_FEW_ROWS else []
    return report


def _cluster(stats: LiveStats, index: int, share: float, term: float, thresholds: Thresholds) -> dict[str, Any]:
    entry = stats.baseline["distance_by_cluster"][index]
    rows = int(stats.bins[index].sum())
    live = stats.histograms.quantiles(index, QUANTILES) if rows else []
    distance_psi = None
    if entry and rows:
        actual = stats.bins[index] / rows
        distance_psi = float(sum(psi_terms(np.asarray(entry["bin_shares"]), actual, thresholds.psi_epsilon)))
    return {
        "cluster": index,
        "rows": rows,
        "baseline_share": stats.baseline["cluster_shares"][index],
        "live_share": share,
        "share_psi_term": term,
        "distance_psi": distance_psi,
        "distance_bin_shares": (stats.bins[index] / rows).tolist() if rows else None,
        "beyond_p99_share": float(stats.beyond_p99[index] / rows) if rows else None,
        "baseline_quantiles": entry["quantiles"] if entry else None,
        "live_quantiles": {quantile_name(q): value for q, value in zip(QUANTILES, live)} if rows else None,  # noqa: B905 (Python 3.9)
    }


def _features_moved(stats: LiveStats, top: int) -> list[dict[str, Any]]:
    if not stats.features.count:
        return []
    base_mean = np.asarray(stats.baseline["feature_mean"], dtype=np.float64)
    base_std = np.asarray(stats.baseline["feature_std"], dtype=np.float64)
    live_mean, live_std = stats.features.mean, stats.features.std()
    pooled = np.sqrt((base_std**2 + live_std**2) / 2)
    difference = live_mean - base_mean
    # A feature constant in both (a blank pixel) that moved is as far as it gets: ranked first, its size infinite.
    effect = np.where(pooled > 0, np.abs(difference) / np.where(pooled > 0, pooled, 1), np.where(difference, np.inf, 0))
    order = np.argsort(-effect, kind="stable")[:top]
    return [
        {
            "feature": int(index),
            "effect_size": float(effect[index]) if math.isfinite(effect[index]) else None,
            "baseline_mean": float(base_mean[index]),
            "live_mean": float(live_mean[index]),
            "baseline_std": float(base_std[index]),
            "live_std": float(live_std[index]),
        }
        for index in order
        if effect[index] > 0
    ]


def _verdict(report: dict[str, Any], thresholds: Thresholds) -> tuple[str, list[str]]:
    if report["rows"] < thresholds.min_rows:
        return TOO_FEW_ROWS, [f"{report['rows']} rows, fewer than the {thresholds.min_rows} a verdict needs"]
    reasons = []
    if report["share_psi"] >= thresholds.psi_drift:
        reasons.append(f"cluster shares moved: PSI {report['share_psi']:.3f} >= {thresholds.psi_drift}")
    if report["beyond_p99_share"] >= thresholds.max_outlier_share:
        reasons.append(
            f"{report['beyond_p99_share']:.1%} of rows lie beyond their cluster's baseline p99 distance "
            f"(>= {thresholds.max_outlier_share:.1%}; 1% expected)"
        )
    for cluster in report["clusters"]:
        psi = cluster["distance_psi"]
        if psi is not None and cluster["rows"] >= thresholds.min_cluster_rows and psi >= thresholds.psi_drift:
            reasons.append(f"cluster {cluster['cluster']} distances moved: PSI {psi:.3f} >= {thresholds.psi_drift}")
    return (DRIFT if reasons else NO_DRIFT), reasons


def _warnings(report: dict[str, Any], thresholds: Thresholds) -> list[str]:
    """Moderate changes: a PSI at `psi_warn` or more but under `psi_drift` (not drift; worth a look)."""
    found = []
    if thresholds.psi_warn <= report["share_psi"] < thresholds.psi_drift:
        found.append(f"cluster shares moved moderately: PSI {report['share_psi']:.3f} >= {thresholds.psi_warn}")
    for cluster in report["clusters"]:
        psi = cluster["distance_psi"]
        enough = cluster["rows"] >= thresholds.min_cluster_rows
        if psi is not None and enough and thresholds.psi_warn <= psi < thresholds.psi_drift:
            found.append(f"cluster {cluster['cluster']} distances moved moderately: PSI {psi:.3f}")
    return found
