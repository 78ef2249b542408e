"""The candidate gate's arithmetic: agreement after aligning ids, ids kept or not, ARI."""

from __future__ import annotations

import numpy as np

from verification.candidate import label_agreement


def test_the_same_labels_agree_and_keep_their_ids() -> None:
    labels = np.arange(300) % 7

    measured = label_agreement(labels, labels.copy())

    assert measured.agreement == 1.0
    assert measured.id_agreement == 1.0
    assert measured.adjusted_rand_index == 1.0
    assert measured.ids_kept


def test_renumbered_labels_agree_once_aligned_but_do_not_keep_ids() -> None:
    live = np.arange(300) % 5
    candidate = (live + 2) % 5

    measured = label_agreement(live, candidate)

    assert measured.agreement == 1.0
    assert measured.id_agreement == 0.0
    assert not measured.ids_kept
    assert measured.mapping == {0: 3, 1: 4, 2: 0, 3: 1, 4: 2}


def test_another_partition_agrees_little() -> None:
    rng = np.random.default_rng(3)
    live = rng.integers(0, 6, 2000)
    candidate = rng.integers(0, 6, 2000)

    measured = label_agreement(live, candidate)

    assert measured.agreement < 0.3
    assert abs(measured.adjusted_rand_index) < 0.05


def test_a_candidate_with_more_clusters_maps_the_extra_ones_to_unused_ids() -> None:
    live = np.array([0, 0, 1, 1, 2, 2])
    candidate = np.array([0, 0, 1, 1, 2, 3])

    measured = label_agreement(live, candidate)

    assert measured.agreement == 5 / 6
    assert measured.candidate_share[3] == 1 / 6
    assert 3 not in measured.live_share
