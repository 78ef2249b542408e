"""Compare the endpoint's answers with the reference set: clusters, near-ties, and the distance metric."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from model_build.reference import ReferenceSet

EUCLIDEAN = "euclidean"
SQUARED = "squared euclidean"


@dataclass(frozen=True)
class Tolerance:
    """Distances match within atol + rtol * |expected|; a tie is a gap below tie_rtol * distance + tie_atol."""

    rtol: float = 1e-4
    atol: float = 1e-4
    tie_rtol: float = 1e-5
    tie_atol: float = 1e-5


@dataclass(frozen=True)
class Mismatch:
    row: int
    expected_cluster: int
    got_cluster: float
    expected_distance: float
    got_distance: float


@dataclass
class Comparison:
    rows: int
    metric: str | None
    ties: list[int] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.metric is not None


def compare(
    reference: ReferenceSet, closest: npt.NDArray[np.float64], distances: npt.NDArray[np.float64], tolerance: Tolerance
) -> Comparison:
    """Judge every row; the metric is whichever of Euclidean or squared fits every matched row."""
    expected = reference.distance_to_cluster
    cluster_ok = closest == reference.closest_cluster
    near_tie = reference.tie_gap <= tolerance.tie_rtol * expected + tolerance.tie_atol
    tie = ~cluster_ok & near_tie & (closest == reference.second_cluster)
    metric = _metric(expected[cluster_ok], distances[cluster_ok], tolerance)
    target = expected**2 if metric == SQUARED else expected
    distance_ok = np.abs(distances - target) <= tolerance.atol + tolerance.rtol * np.abs(target)
    # A tie may land on the runner-up, whose distance is the nearest's plus a gap below tolerance.
    bad = ~((cluster_ok & distance_ok) | tie)
    mismatches = [
        Mismatch(
            int(row),
            int(reference.closest_cluster[row]),
            float(closest[row]),
            float(target[row]),
            float(distances[row]),
        )
        for row in np.flatnonzero(bad)
    ]
    return Comparison(
        rows=len(closest), metric=metric, ties=[int(r) for r in np.flatnonzero(tie)], mismatches=mismatches
    )


def _metric(expected: npt.NDArray[np.float64], got: npt.NDArray[np.float64], tolerance: Tolerance) -> str | None:
    def fits(target: npt.NDArray[np.float64]) -> bool:
        return bool(np.all(np.abs(got - target) <= tolerance.atol + tolerance.rtol * np.abs(target)))

    if len(got) == 0:
        return None
    if fits(expected):
        return EUCLIDEAN
    if fits(expected**2):
        return SQUARED
    return EUCLIDEAN  # neither fits everywhere: judge against the documented metric, report the rows
