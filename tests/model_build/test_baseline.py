"""baseline.json: reproducible, in the manifest's chain, and the same whether fed whole or in chunks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from model_build.baseline import QUANTILES, BaselineAccumulator, compute_baseline, decode_baseline, encode_baseline
from model_build.build import BuildRequest, render_outputs
from model_build.cli import main
from model_build.manifest import sha256_hex
from model_build.reference import nearest_two

Pair = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]


@pytest.fixture(scope="module")
def rows_and_centroids() -> Pair:
    rng = np.random.default_rng(5)
    centroids = rng.normal(0, 10, size=(4, 6)).astype(np.float32)
    rows = (centroids[rng.integers(0, 4, 20_000)] + rng.normal(0, 1, size=(20_000, 6))).astype(np.float32)
    return rows, centroids


def test_the_build_writes_the_same_baseline_bytes_twice_and_chains_them_in_the_manifest(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert main(["--out", str(tmp_path / name), "--max-rows", "600"]) == 0

    first, second = ((tmp_path / name / "baseline.json").read_bytes() for name in ("a", "b"))
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    baseline = json.loads(first)
    assert first == second
    assert manifest["baseline"] == {
        "file": "baseline.json", "sha256": sha256_hex(first), "rows": 600, "rows_source": "training rows"
    }  # fmt: skip
    assert baseline["artifact_sha256"] == manifest["artifact_sha256"]
    assert sum(baseline["cluster_counts"]) == 600


def test_a_model_brought_along_gets_a_baseline_of_its_reference_rows(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", np.eye(3, 5, dtype=np.float32))

    assert main(["--centroids", str(tmp_path / "c.npy"), "--out", str(tmp_path / "out")]) == 0

    assert json.loads((tmp_path / "out" / "baseline.json").read_text())["rows_source"] == "reference rows"


def test_chunks_give_the_counts_shares_and_moments_of_the_whole(
    rows_and_centroids: Pair,
) -> None:
    rows, centroids = rows_and_centroids
    whole = BaselineAccumulator(centroids)
    whole.add(rows)
    chunked = BaselineAccumulator(centroids)
    for start in range(0, len(rows), 3_001):
        chunked.add(rows[start : start + 3_001])

    a, b = (acc.result(artifact_sha256="x", rows_source="t") for acc in (whole, chunked))
    assert a["cluster_counts"] == b["cluster_counts"]
    assert np.allclose(a["feature_mean"], rows.astype(np.float64).mean(axis=0), rtol=0, atol=1e-9)
    assert np.allclose(b["feature_std"], rows.astype(np.float64).std(axis=0), rtol=1e-9)
    assert a["distance_by_cluster"] == b["distance_by_cluster"]  # histograms add up exactly


def test_distance_quantiles_are_within_one_bin_of_the_exact_ones(
    rows_and_centroids: Pair,
) -> None:
    rows, centroids = rows_and_centroids
    baseline = json.loads(compute_baseline(rows, centroids, artifact_sha256="x", rows_source="t"))
    first, _ = nearest_two(rows, centroids)
    distances = np.sqrt(first.squared_distance)

    for cluster, entry in enumerate(baseline["distance_by_cluster"]):
        exact = np.quantile(distances[first.cluster == cluster], QUANTILES)
        approximate = np.array(list(entry["quantiles"].values()))
        assert np.allclose(approximate, exact, rtol=0.012), cluster  # a bin is 1.16 % wide
        assert np.isclose(sum(entry["bin_shares"]), 1.0)


def test_a_file_that_is_not_a_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match=r"x\.json: not a baseline file"):
        decode_baseline(b"{}", "x.json")
    assert decode_baseline(
        encode_baseline({"schema_version": 1, "clusters": 0, "cluster_shares": [], "distance_by_cluster": []}), "y"
    )


def test_a_streamed_build_feeds_its_chunks_and_gets_the_baseline_of_the_whole(tmp_path: Path) -> None:
    rows = np.random.default_rng(3).normal(0, 5, size=(3_000, 4)).astype(np.float32)
    centroids = rows[:3].copy()
    whole = BuildRequest(centroids, rows[:10], {"test": "whole"}, None, draw_picture=False, baseline_rows=rows)
    streamed = replace(
        whole, baseline_rows=None, baseline_chunks=lambda: (rows[i : i + 700] for i in range(0, 3_000, 700))
    )

    a, b = (json.loads(render_outputs(request).files["baseline.json"]) for request in (whole, streamed))

    assert b["rows_source"] == "training rows, streamed"
    assert (a["rows"], a["cluster_counts"], a["distance_by_cluster"]) == (
        b["rows"],
        b["cluster_counts"],
        b["distance_by_cluster"],
    )
    assert np.allclose(a["feature_std"], b["feature_std"], rtol=1e-12)
