"""`python -m model_build`: every input form builds; every bad input is one line and writes nothing."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans

from model_build import ndarray
from model_build.cli import main
from model_build.datasets import load_dataset
from model_build.packaging import unpack_model
from model_build.reference import ReferenceSet
from model_build.training import fit_kmeans
from tests.conftest import run_module
from tests.model_build.fixtures import (
    mnist_like_pixels,
    write_idx_images,
    write_mnist_pickle,
    write_openml_mnist_cache,
)

OUTPUT_FILES = ["baseline.json", "centroids.png", "manifest.json", "model.tar.gz", "reference.npz"]


def built_centroids(out: Path) -> np.ndarray[Any, Any]:
    (centroids,) = ndarray.decode(unpack_model((out / "model.tar.gz").read_bytes(), "model.tar.gz"))
    return centroids


def manifest(out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return loaded


def test_default_build_trains_on_the_bundled_digits(tmp_path: Path) -> None:
    result = run_module("model_build", ["--out", tmp_path / "out"])

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == OUTPUT_FILES
    written = manifest(tmp_path / "out")
    assert (written["clusters"], written["feature_dim"], written["dtype"]) == (10, 64, "float32")
    assert written["source"]["dataset"] == "digits"
    assert written["inertia"] > 0
    assert set(written["versions"]) >= {"numpy", "scikit-learn", "python"}


def test_building_twice_gives_byte_identical_outputs(tmp_path: Path) -> None:
    for out in ("first", "second"):
        assert main(["--max-rows", "500", "--out", str(tmp_path / out)]) == 0
    for name in OUTPUT_FILES:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name


def test_manifest_hash_matches_the_artifact(tmp_path: Path) -> None:
    import hashlib

    assert main(["--max-rows", "300", "--out", str(tmp_path)]) == 0
    digest = hashlib.sha256((tmp_path / "model.tar.gz").read_bytes()).hexdigest()
    assert manifest(tmp_path)["artifact_sha256"] == digest


def test_reference_set_agrees_with_scikit_learn_predictions(tmp_path: Path) -> None:
    rows = np.random.default_rng(1).random((400, 5), dtype=np.float32)
    np.save(tmp_path / "rows.npy", rows)
    model = KMeans(n_clusters=4, n_init=1, random_state=0).fit(rows)
    joblib.dump(model, tmp_path / "model.joblib")
    args = ["--sklearn-model", tmp_path / "model.joblib", "--trust-pickle", "--dataset", "npy"]

    assert main([*map(str, args), "--data", str(tmp_path / "rows.npy"), "--out", str(tmp_path / "out")]) == 0

    reference = ReferenceSet.from_npz_bytes((tmp_path / "out" / "reference.npz").read_bytes())
    np.testing.assert_array_equal(reference.rows, rows[:100])
    np.testing.assert_array_equal(reference.closest_cluster, model.predict(rows[:100]))
    expected = np.min(model.transform(rows[:100]), axis=1)
    np.testing.assert_allclose(reference.distance_to_cluster, expected, rtol=1e-5)
    assert np.all(reference.tie_gap >= 0)
    assert np.all(reference.second_cluster != reference.closest_cluster)


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_centroids_file_becomes_the_model_unchanged(tmp_path: Path, suffix: str) -> None:
    centroids = np.random.default_rng(2).normal(size=(7, 12)).astype(np.float32)
    path = tmp_path / f"centroids{suffix}"
    np.save(path, centroids) if suffix == ".npy" else np.savetxt(path, centroids, delimiter=",", fmt="%.9g")

    assert main(["--centroids", str(path), "--reference-rows", "30", "--out", str(tmp_path / "out")]) == 0

    np.testing.assert_array_equal(built_centroids(tmp_path / "out"), centroids)
    written = manifest(tmp_path / "out")
    assert written["source"]["kind"] == "centroids"
    assert written["reference"]["rows"] == 30
    assert "inertia" not in written


@pytest.mark.parametrize("estimator", [KMeans(n_clusters=3, n_init=1), MiniBatchKMeans(n_clusters=3, n_init=1)])
@pytest.mark.parametrize("saver", ["joblib", "pickle"])
def test_fitted_sklearn_models_are_imported(tmp_path: Path, estimator: Any, saver: str) -> None:
    estimator.fit(np.random.default_rng(3).random((60, 4)))
    path = tmp_path / "model.bin"
    joblib.dump(estimator, path) if saver == "joblib" else path.write_bytes(pickle.dumps(estimator))

    assert main(["--sklearn-model", str(path), "--trust-pickle", "--out", str(tmp_path / "out")]) == 0

    np.testing.assert_array_equal(built_centroids(tmp_path / "out"), estimator.cluster_centers_.astype(np.float32))
    assert manifest(tmp_path / "out")["source"]["estimator"] == type(estimator).__name__


def _mnist_inputs(tmp_path: Path) -> dict[str, list[str]]:
    pixels = mnist_like_pixels(120)
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx-gz").mkdir()
    write_idx_images(tmp_path / "idx" / "train-images-idx3-ubyte", pixels, compress=False)
    write_idx_images(tmp_path / "idx-gz" / "train-images-idx3-ubyte.gz", pixels, compress=True)
    write_mnist_pickle(tmp_path / "mnist.pkl.gz", pixels)
    write_openml_mnist_cache(tmp_path / "openml", pixels)
    np.save(tmp_path / "rows.npy", pixels / np.float32(255))
    np.savetxt(tmp_path / "rows.csv", pixels / 255.0, delimiter=",", fmt="%.9g")
    return {
        "mnist-idx": ["--data", str(tmp_path / "idx")],
        "mnist-idx-gz": ["--data", str(tmp_path / "idx-gz")],
        "mnist-pkl": ["--data", str(tmp_path / "mnist.pkl.gz")],
        "openml-mnist": ["--data", str(tmp_path / "openml")],
        "npy": ["--data", str(tmp_path / "rows.npy")],
        "csv": ["--data", str(tmp_path / "rows.csv")],
    }


def test_every_mnist_form_trains_the_same_model(tmp_path: Path) -> None:
    results = {}
    for form, data_args in _mnist_inputs(tmp_path).items():
        dataset = form.removesuffix("-gz")
        out = tmp_path / f"out-{form}"
        assert main(["--dataset", dataset, *data_args, "--clusters", "10", "--out", str(out)]) == 0, form
        results[form] = built_centroids(out)
        assert manifest(out)["source"]["rows"] == 120
    for form, centroids in results.items():
        np.testing.assert_allclose(centroids, results["mnist-idx"], atol=1e-6, err_msg=form)


def test_max_rows_keeps_the_leading_rows(tmp_path: Path) -> None:
    leading = load_dataset("digits", None, None).rows[:50]

    assert main(["--max-rows", "50", "--clusters", "5", "--out", str(tmp_path)]) == 0

    assert (manifest(tmp_path)["source"]["rows"], manifest(tmp_path)["source"]["rows_available"]) == (50, 1797)
    # The reference set holds the training rows (fewer than its 100), and the model is the fit of those rows.
    reference = ReferenceSet.from_npz_bytes((tmp_path / "reference.npz").read_bytes())
    np.testing.assert_array_equal(reference.rows, leading)
    np.testing.assert_array_equal(built_centroids(tmp_path), fit_kmeans(leading.copy(), 5, 0).centroids)


def test_inspect_describes_a_built_artifact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--max-rows", "200", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "model.tar.gz")]) == 0
    assert "clusters=10 feature_dim=64" in capsys.readouterr().out
