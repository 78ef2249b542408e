"""Two k-means models on the same rows: do they agree, once their ids are aligned?

Agreement after alignment says whether consumers keyed on cluster ids keep their meaning; the adjusted
Rand index (scikit-learn) says whether the two partitions agree whatever the ids; centroid shift and
cluster-size drift say where they differ. A low agreement with a high ARI cannot happen; a low ARI
means k-means landed in another local optimum (or the data moved), and no renumbering can hide that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import adjusted_rand_score

from model_build.alignment import Alignment, align

SAME_SOLUTION_AGREEMENT = 0.9  # the bar for "the two runs converged to nearby solutions"
_ROWS_PER_CHUNK = 16_384  # bounds the (rows x clusters) distance block


def nearest_labels(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """Each row's nearest centroid: |x|^2 - 2 x.c + |c|^2 by BLAS, chunked so memory stays bounded.

    Rows within float32 rounding of a tie may go either way; for agreement statistics that is noise.
    """
    squared_norms = (centroids.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
    labels = np.empty(len(rows), dtype=np.int64)
    for start in range(0, len(rows), _ROWS_PER_CHUNK):
        chunk = rows[start : start + _ROWS_PER_CHUNK]
        labels[start : start + len(chunk)] = np.argmin(squared_norms - 2.0 * (chunk @ centroids.T), axis=1)
    return labels


@dataclass(frozen=True)
class ClusterDrift:
    id: int
    previous_id: int | None
    shift: float | None
    old_share: float
    new_share: float


@dataclass(frozen=True)
class ModelComparison:
    rows: int
    old_clusters: int
    new_clusters: int
    agreement: float
    unaligned_agreement: float
    adjusted_rand_index: float
    clusters: list[ClusterDrift]
    dropped_ids: list[int]

    @property
    def same_solution(self) -> bool:
        return self.agreement >= SAME_SOLUTION_AGREEMENT

    def verdict(self) -> str:
        if self.same_solution:
            return "the same solution: aligned ids keep their meaning"
        return (
            "a different solution (another local optimum, or the data moved): "
            "consumers keyed on cluster ids will see rows change clusters"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "old_clusters": self.old_clusters,
            "new_clusters": self.new_clusters,
            "agreement": self.agreement,
            "unaligned_agreement": self.unaligned_agreement,
            "adjusted_rand_index": self.adjusted_rand_index,
            "same_solution": self.same_solution,
            "verdict": self.verdict(),
            "clusters": [cluster.__dict__ for cluster in self.clusters],
            "dropped_ids": self.dropped_ids,
        }


def compare_models(
    old: npt.NDArray[np.float32], new: npt.NDArray[np.float32], rows: npt.NDArray[np.float32]
) -> ModelComparison:
    """Label `rows` with both models, align `new` to `old`, and measure how far they agree."""
    alignment = align(new, old)
    old_labels = nearest_labels(rows, old)
    new_labels = nearest_labels(rows, alignment.apply(new))
    fitted_labels = alignment.order[new_labels]  # the ids the new fit gave, before alignment
    return ModelComparison(
        rows=len(rows),
        old_clusters=len(old),
        new_clusters=len(new),
        agreement=float(np.mean(old_labels == new_labels)),
        unaligned_agreement=float(np.mean(old_labels == fitted_labels)),
        adjusted_rand_index=float(adjusted_rand_score(old_labels, new_labels)),
        clusters=_drift(alignment, old_labels, new_labels, max(len(old), len(new))),
        dropped_ids=alignment.dropped,
    )


def _drift(
    alignment: Alignment, old_labels: npt.NDArray[np.int64], new_labels: npt.NDArray[np.int64], ids: int
) -> list[ClusterDrift]:
    old_share = np.bincount(old_labels, minlength=ids) / max(len(old_labels), 1)
    new_share = np.bincount(new_labels, minlength=ids) / max(len(new_labels), 1)
    return [
        ClusterDrift(
            id=new_id,
            previous_id=match,
            shift=shift,
            old_share=float(old_share[new_id]),
            new_share=float(new_share[new_id]),
        )
        for new_id, (match, shift) in enumerate(zip(alignment.previous, alignment.shifts, strict=True))
    ]


def comparison_text(comparison: ModelComparison) -> str:
    """The one-screen report: headline numbers, the verdict, then one line per cluster."""
    lines = [
        f"{comparison.rows} rows; clusters {comparison.old_clusters} -> {comparison.new_clusters}",
        f"label agreement after alignment {comparison.agreement:.4f} "
        f"(ids as fitted: {comparison.unaligned_agreement:.4f}); "
        f"adjusted Rand index {comparison.adjusted_rand_index:.4f}",
        f"verdict: {comparison.verdict()}",
        "  id  previous  shift      share old -> new",
    ]
    for cluster in comparison.clusters:
        previous = "new" if cluster.previous_id is None else str(cluster.previous_id)
        shift = "" if cluster.shift is None else f"{cluster.shift:.4g}"
        lines.append(
            f"  {cluster.id:>2}  {previous:>8}  {shift:<9}  {cluster.old_share:6.2%} -> {cluster.new_share:6.2%}"
        )
    if comparison.dropped_ids:
        lines.append(f"  dropped ids: {', '.join(map(str, comparison.dropped_ids))}")
    return "\n".join(lines)
