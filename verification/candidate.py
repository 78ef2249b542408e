"""The candidate-vs-live gate: would promoting a retrained model change what consumers see?

The live endpoint labels the candidate's reference rows; the candidate's own labels are in its
reference set. Ids are aligned by an optimal assignment on the label overlap (SciPy), so the
agreement measures the partition, and a separate check says whether the candidate kept the live
ids (it does when built with `--align-to`).

A retrain that adds clusters (the data grew a segment the live model has not seen) cannot agree with the live model
on the rows of its new clusters: the live model has no such id, and labels those rows with whichever old cluster is
nearest. So the rows the candidate puts in a cluster its manifest's `aligned_to` marks as new (`previous_id` null)
are set aside: agreement and ids are measured on the rest, the rows of the clusters both models have, where the
retrain must still agree; the new clusters and their share are reported. Without `aligned_to` every row counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from verification.checks import CheckResult, PredictionRun, variant_answers
from wire.media_types import PROTOBUF


@dataclass(frozen=True)
class LabelAgreement:
    agreement: float
    id_agreement: float
    adjusted_rand_index: float
    mapping: dict[int, int]
    live_share: dict[int, float]
    candidate_share: dict[int, float]

    @property
    def ids_kept(self) -> bool:
        return all(candidate == live for candidate, live in self.mapping.items())


def label_agreement(live: npt.NDArray[np.int64], candidate: npt.NDArray[np.int64]) -> LabelAgreement:
    """Agreement after the id mapping that maximises overlap, as numbered, and by ARI."""
    ids = int(max(live.max(initial=0), candidate.max(initial=0))) + 1
    overlap = np.zeros((ids, ids), dtype=np.int64)
    np.add.at(overlap, (candidate, live), 1)
    candidate_ids, live_ids = linear_sum_assignment(-overlap)
    used = {int(c) for c in np.unique(candidate)}
    mapping = {int(c): int(v) for c, v in zip(candidate_ids, live_ids, strict=True) if int(c) in used}
    lookup = np.arange(ids)
    lookup[list(mapping)] = list(mapping.values())
    rows = max(len(live), 1)
    return LabelAgreement(
        agreement=float(np.mean(lookup[candidate] == live)),
        id_agreement=float(np.mean(candidate == live)),
        adjusted_rand_index=float(adjusted_rand_score(live, candidate)),
        mapping=mapping,
        live_share={i: float(n / rows) for i, n in enumerate(np.bincount(live, minlength=ids)) if n},
        candidate_share={i: float(n / rows) for i, n in enumerate(np.bincount(candidate, minlength=ids)) if n},
    )


def new_cluster_ids(manifest: dict[str, Any]) -> list[int]:
    """The candidate's clusters that match none of the model it was aligned to (none when it was not aligned)."""
    aligned = manifest.get("aligned_to") or {}
    return sorted(int(c["id"]) for c in aligned.get("clusters", []) if c.get("previous_id") is None)


def live_labels(run: PredictionRun, variant: dict[str, Any]) -> npt.NDArray[np.int64]:
    """The live variant's closest_cluster for every candidate reference row (RecordIO-protobuf: exact rows)."""
    return variant_answers(run, variant, PROTOBUF).closest.astype(np.int64)


def candidate_checks(run: PredictionRun, variant: dict[str, Any], min_agreement: float) -> list[CheckResult]:
    """Two checks: the partition agrees with live's (gated by `min_agreement`), and the ids are live's ids; both on
    the rows of the clusters the live model has (the candidate's new clusters set aside)."""
    live, candidate = live_labels(run, variant), run.expected.reference.closest_cluster.astype(np.int64)
    new_ids = new_cluster_ids(run.expected.build.manifest)
    compared = ~np.isin(candidate, new_ids)
    measured = label_agreement(live[compared], candidate[compared])
    new_share = float(1.0 - compared.mean()) if len(compared) else 0.0
    data = {
        "variant": variant["VariantName"],
        "rows": len(run.expected.reference.rows),
        "rows_compared": int(compared.sum()),
        "new_clusters": new_ids,
        "new_cluster_share": new_share,
        "agreement": measured.agreement,
        "id_agreement": measured.id_agreement,
        "adjusted_rand_index": measured.adjusted_rand_index,
        "min_agreement": min_agreement,
        "mapping": {str(c): v for c, v in measured.mapping.items()},
        "live_share": measured.live_share,
        "candidate_share": measured.candidate_share,
    }
    agreement = CheckResult(
        "candidate agreement",
        measured.agreement >= min_agreement,
        f"{variant['VariantName']}: label agreement {measured.agreement:.4f} after aligning ids "
        f"(--min-agreement {min_agreement}), adjusted Rand index {measured.adjusted_rand_index:.4f}"
        + (f"; new clusters {new_ids} ({new_share:.1%} of the rows) set aside" if new_ids else ""),
        data,
    )
    moved = {c: v for c, v in measured.mapping.items() if c != v}
    ids = CheckResult(
        "candidate keeps live ids",
        measured.ids_kept,
        "every cluster keeps its live id"
        if measured.ids_kept
        else f"candidate ids map to other live ids ({_moves(moved)}): rebuild it with "
        "`python -m model_build --align-to LIVE_BUILD`",
        {"id_agreement": measured.id_agreement},
    )
    return [agreement, ids]


def _moves(moved: dict[int, int]) -> str:
    return ", ".join(f"{candidate} -> {live}" for candidate, live in sorted(moved.items()))
