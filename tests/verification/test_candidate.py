"""The candidate gate's arithmetic: agreement after aligning ids, ids kept or not, ARI."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from verification import candidate as candidate_module
from verification.candidate import label_agreement
from verification.checks import CheckResult


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


def gate(
    monkeypatch: pytest.MonkeyPatch, live: npt.NDArray[np.int64], candidate: npt.NDArray[np.int64],
    aligned_to: dict[str, Any] | None,
) -> list[CheckResult]:  # fmt: skip
    """candidate_checks with the live variant's answers given and a candidate build of these labels."""
    monkeypatch.setattr(candidate_module, "live_labels", lambda _run, _variant: live)
    manifest = {} if aligned_to is None else {"aligned_to": aligned_to}
    reference = SimpleNamespace(closest_cluster=candidate, rows=candidate[:, None])
    expected = SimpleNamespace(build=SimpleNamespace(manifest=manifest), reference=reference)
    return candidate_module.candidate_checks(SimpleNamespace(expected=expected), {"VariantName": "AllTraffic"}, 0.9)  # type: ignore[arg-type]


def added_cluster() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], dict[str, Any]]:
    """Live k=4; the retrain keeps 0-3 and adds 4 for rows live labels 3 (its nearest), more of them than 3's own."""
    candidate = np.repeat([0, 1, 2, 3, 4], [100, 100, 100, 60, 140])
    live = np.where(candidate == 4, 3, candidate)
    clusters = [{"id": i, "previous_id": i if i < 4 else None} for i in range(5)]
    return live, candidate, {"artifact_sha256": "0" * 64, "clusters": clusters}


def test_a_retrain_that_adds_a_cluster_is_gated_on_the_clusters_live_has(monkeypatch: pytest.MonkeyPatch) -> None:
    live, candidate, aligned_to = added_cluster()

    agreement, ids = gate(monkeypatch, live, candidate, aligned_to)

    assert agreement.passed
    assert ids.passed
    assert agreement.data["agreement"] == 1.0
    assert agreement.data["new_clusters"] == [4]
    assert agreement.data["new_cluster_share"] == 140 / 500
    assert agreement.data["rows_compared"] == 360
    assert "new clusters [4] (28.0% of the rows) set aside" in agreement.detail


def test_without_aligned_to_every_row_counts_and_the_new_cluster_takes_an_old_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live, candidate, _ = added_cluster()

    agreement, ids = gate(monkeypatch, live, candidate, None)

    assert agreement.data["rows_compared"] == 500
    assert not agreement.passed  # ids 3 and 4 swap: (300 + 140) / 500 = 0.88
    assert not ids.passed  # the bigger new cluster wins live id 3


def test_the_old_clusters_must_still_agree_when_a_cluster_is_added(monkeypatch: pytest.MonkeyPatch) -> None:
    live, candidate, aligned_to = added_cluster()
    live[:100] = 1  # the retrain moved all of cluster 0's rows

    agreement, _ = gate(monkeypatch, live, candidate, aligned_to)

    assert not agreement.passed
