"""Stable cluster ids: --align-to keeps each cluster's id across retrains; compare tells a new optimum apart."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from model_build import ndarray
from model_build.alignment import align, load_model
from model_build.cli import main
from model_build.comparison import compare_models
from model_build.manifest import ALIGNED_TO, ARTIFACT_NAME, REFERENCE_FILE_NAME, read_build
from model_build.packaging import package_model
from model_build.reference import ReferenceSet

# Seeds 2 and 3 on the bundled digits converge to nearby solutions; seed 6 to another local optimum.
NEAR_SEEDS, OTHER_OPTIMUM_SEED = (2, 3), 6


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("retrain")
    made = {}
    for name, extra in {
        "live": ["--seed", str(NEAR_SEEDS[0])],
        "near": ["--seed", str(NEAR_SEEDS[1])],
        "other": ["--seed", str(OTHER_OPTIMUM_SEED)],
    }.items():
        assert main([*extra, "--out", str(root / name)]) == 0
        made[name] = root / name
    assert main(["--seed", str(NEAR_SEEDS[1]), "--align-to", str(made["live"]), "--out", str(root / "aligned")]) == 0
    made["aligned"] = root / "aligned"
    return made


def _centroids(build_dir: Path) -> np.ndarray:
    return load_model(build_dir, "test").centroids


def test_shuffled_centroids_get_their_ids_back() -> None:
    rng = np.random.default_rng(1)
    previous = rng.random((12, 5), dtype=np.float32) * 10
    shuffle = rng.permutation(12)
    fitted = previous[shuffle] + rng.normal(0, 0.01, previous.shape).astype(np.float32)

    alignment = align(fitted, previous)

    np.testing.assert_array_equal(alignment.apply(fitted), fitted[np.argsort(shuffle)])
    assert alignment.previous == list(range(12))
    assert max(s for s in alignment.shifts if s is not None) < 0.1
    assert alignment.dropped == []
    assert alignment.renumbered == {}


def test_new_clusters_take_ids_after_the_old_range() -> None:
    previous = np.array([[0, 0], [10, 0], [0, 10]], dtype=np.float32)
    fitted = np.array([[20, 20], [0, 10.5], [-5, -5], [0.5, 0], [10, 0.5]], dtype=np.float32)

    alignment = align(fitted, previous)

    assert alignment.previous == [0, 1, 2, None, None]
    np.testing.assert_array_equal(alignment.order, [3, 4, 1, 0, 2])  # unmatched in fitted order
    assert alignment.dropped == []


def test_fewer_clusters_report_dropped_and_renumbered_ids() -> None:
    previous = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)
    fitted = np.array([[10, 10.5], [0.5, 0]], dtype=np.float32)

    alignment = align(fitted, previous)

    assert alignment.dropped == [1, 2]
    assert alignment.previous == [0, 3]  # id 3 no longer exists: it moves into the freed id 1
    assert alignment.renumbered == {3: 1}


def test_retrain_with_align_to_gives_the_previous_ids_back(builds: dict[str, Path]) -> None:
    live, near, aligned = (_centroids(builds[name]) for name in ("live", "near", "aligned"))
    rows = _digits_rows()

    unaligned = compare_models(live, near, rows)
    with_ids_kept = compare_models(live, aligned, rows)

    assert with_ids_kept.agreement >= 0.9
    assert with_ids_kept.unaligned_agreement == pytest.approx(with_ids_kept.agreement)  # already aligned
    assert unaligned.unaligned_agreement < 0.5  # the ids as fitted mean other clusters
    assert unaligned.agreement == pytest.approx(with_ids_kept.agreement)


def test_manifest_records_the_alignment(builds: dict[str, Path]) -> None:
    manifest = read_build(builds["aligned"]).manifest
    live_sha = read_build(builds["live"]).artifact_sha256

    record = manifest[ALIGNED_TO]

    assert record["artifact_sha256"] == live_sha
    assert [c["id"] for c in record["clusters"]] == list(range(10))
    assert sorted(c["fitted_index"] for c in record["clusters"]) == list(range(10))
    assert all(c["shift"] >= 0 for c in record["clusters"])


def test_aligned_builds_are_reproducible(builds: dict[str, Path], tmp_path: Path) -> None:
    args = ["--seed", str(NEAR_SEEDS[1]), "--align-to", str(builds["live"] / ARTIFACT_NAME)]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0

    for name in ("model.tar.gz", "manifest.json", "reference.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / ARTIFACT_NAME).read_bytes() == (builds["aligned"] / ARTIFACT_NAME).read_bytes()


def test_compare_gates_a_near_candidate_through_and_another_optimum_out(
    builds: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    near = main(["compare", str(builds["live"]), str(builds["near"]), "--dataset", "digits", "--min-agreement", "0.9"])
    near_out = capsys.readouterr().out
    other = main(["compare", str(builds["live"]), str(builds["other"]), "--dataset", "digits", "--json"])
    report = json.loads(capsys.readouterr().out)
    gated = main(
        ["compare", str(builds["live"]), str(builds["other"]), "--dataset", "digits", "--min-agreement", "0.9"]
    )

    assert near == 0
    assert "verdict: the same solution" in near_out
    assert other == 0
    assert report["same_solution"] is False
    assert report["agreement"] < 0.9
    assert report["adjusted_rand_index"] < 0.9
    assert len(report["clusters"]) == 10
    assert gated == 1
    assert "FAILED: agreement" in capsys.readouterr().out


def test_compare_uses_the_new_builds_reference_rows(
    builds: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["compare", str(builds["live"]), str(builds["aligned"]), "--json"]) == 0

    assert json.loads(capsys.readouterr().out)["rows"] == 100
    # Both builds hold the same 100 leading rows: a copy of the new one with 37 tells whose rows were used.
    fewer = _with_reference_rows(builds["aligned"], 37, tmp_path / "fewer")
    assert main(["compare", str(builds["live"]), str(fewer), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 37
    assert main(["compare", str(fewer), str(builds["live"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 100


def _with_reference_rows(build_dir: Path, count: int, copy: Path) -> Path:
    shutil.copytree(build_dir, copy)
    reference = ReferenceSet.from_npz_bytes((copy / REFERENCE_FILE_NAME).read_bytes())
    fewer = ReferenceSet(**{name: array[:count] for name, array in reference.__dict__.items()})
    (copy / REFERENCE_FILE_NAME).write_bytes(fewer.to_npz_bytes())
    return copy


def _digits_rows() -> np.ndarray:
    from model_build.datasets import load_dataset

    return load_dataset("digits", None, None).rows


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


BAD_ALIGN_TO: dict[str, tuple[Callable[[Path], str], str]] = {
    "missing": (lambda t: str(t / "nowhere.tar.gz"), "nowhere.tar.gz: cannot read"),
    "folder without a build": (str, "not a usable build manifest"),
    "not a tar.gz": (lambda t: _write(t / "x.tar.gz", b"plain text"), "not a readable tar.gz"),
    "tar.gz of something else": (
        lambda t: _write(t / "x.tar.gz", _tar_with("notes.txt", b"hello")),
        "has no model_algo-1 at its root",
    ),
    "not k-means": (
        lambda t: _write(t / "x.tar.gz", package_model(ndarray.encode([np.ones(3, np.float32)]))),
        "not a k-means model",
    ),
    "other feature count": (
        lambda t: _write(t / "x.tar.gz", package_model(ndarray.encode([np.ones((10, 3), np.float32)]))),
        "has 3 features, the new model 64",
    ),
}


def _tar_with(name: str, data: bytes) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        entry = tarfile.TarInfo(name)
        entry.size = len(data)
        archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("case", BAD_ALIGN_TO, ids=list(BAD_ALIGN_TO))
def test_bad_align_to_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make_path, expected = BAD_ALIGN_TO[case]
    out = tmp_path / "out"

    status = main(["--max-rows", "300", "--align-to", make_path(tmp_path), "--out", str(out)])

    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("python -m model_build: error: --align-to ")
    assert expected in stderr
    assert not out.exists()


def test_compare_refuses_artifacts_without_rows(builds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["compare", str(builds["live"] / ARTIFACT_NAME), str(builds["near"] / ARTIFACT_NAME)])

    assert status == 1
    assert "give --dataset for the rows" in capsys.readouterr().err
