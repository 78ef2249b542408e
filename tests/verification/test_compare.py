"""Comparison rules: near-ties are not failures, the distance metric is detected and reported."""

from __future__ import annotations

import numpy as np

from model_build.reference import ReferenceSet, build_reference_set
from verification.compare import EUCLIDEAN, SQUARED, Tolerance, compare

CENTROIDS = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 5.0]], dtype=np.float32)
ROWS = np.array([[0.1, 0.0], [1.0, 0.0], [0.0, 4.0]], dtype=np.float32)  # row 1 sits exactly between 0 and 1


def reference() -> ReferenceSet:
    return build_reference_set(ROWS, CENTROIDS)


def test_exact_answers_pass_as_euclidean() -> None:
    ref = reference()
    result = compare(ref, ref.closest_cluster.astype(float), ref.distance_to_cluster, Tolerance())
    assert (result.passed, result.metric, result.ties) == (True, EUCLIDEAN, [])


def test_squared_distances_are_recognised() -> None:
    ref = reference()
    result = compare(ref, ref.closest_cluster.astype(float), ref.distance_to_cluster**2, Tolerance())
    assert (result.passed, result.metric) == (True, SQUARED)


def test_the_runner_up_of_a_near_tie_is_a_tie_not_a_failure() -> None:
    ref = reference()
    assert ref.tie_gap[1] == 0.0
    closest = ref.closest_cluster.astype(float)
    closest[1] = ref.second_cluster[1]
    result = compare(ref, closest, ref.distance_to_cluster, Tolerance())
    assert (result.passed, result.ties) == (True, [1])


def test_a_wrong_cluster_away_from_a_tie_fails_with_its_row() -> None:
    ref = reference()
    closest = ref.closest_cluster.astype(float)
    closest[2] = 0.0
    result = compare(ref, closest, ref.distance_to_cluster, Tolerance())
    assert not result.passed
    assert [(m.row, m.expected_cluster, m.got_cluster) for m in result.mismatches] == [(2, 2, 0.0)]


def test_a_distance_off_by_more_than_the_tolerance_fails() -> None:
    ref = reference()
    distances = ref.distance_to_cluster.copy()
    distances[0] *= 1.01
    result = compare(ref, ref.closest_cluster.astype(float), distances, Tolerance())
    assert [m.row for m in result.mismatches] == [0]
