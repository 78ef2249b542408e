"""Every bad input: exit 1, one stderr line naming the file and the problem, nothing written."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression

from model_build import ndarray
from model_build.cli import main
from tests.conftest import run_module
from tests.model_build.fixtures import mnist_like_pixels, write_idx_images

Case = Callable[[Path], tuple[list[str], str]]


def _npy(tmp: Path, values: Any, dtype: Any = None) -> str:
    path = tmp / "input.npy"
    np.save(path, np.asarray(values, dtype=dtype), allow_pickle=True)
    return str(path)


def _text(tmp: Path, name: str, content: str) -> str:
    path = tmp / name
    path.write_text(content)
    return str(path)


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


def _pickle_file(tmp: Path, payload: object) -> str:
    path = tmp / "payload.pkl"
    path.write_bytes(pickle.dumps(payload))
    return str(path)


CASES: dict[str, Case] = {
    "missing centroids file": lambda t: (["--centroids", str(t / "nope.npy")], "nope.npy: cannot read as .npy"),
    "centroids folder": lambda t: (["--centroids", str(t)], "expected a .npy or .csv file"),
    "unknown suffix": lambda t: (["--centroids", _text(t, "c.txt", "1,2")], "c.txt: expected a .npy or .csv file"),
    "1-D centroids": lambda t: (["--centroids", _npy(t, [1.0, 2.0])], "must be 2-D (rows, features), got shape (2,)"),
    "3-D centroids": lambda t: (["--centroids", _npy(t, np.ones((2, 2, 2)))], "got shape (2, 2, 2)"),
    "k = 0": lambda t: (["--centroids", _npy(t, np.ones((0, 4)))], "at least one row and one feature"),
    "d = 0": lambda t: (["--centroids", _npy(t, np.ones((4, 0)))], "at least one row and one feature"),
    "NaN": lambda t: (["--centroids", _npy(t, [[1.0, np.nan]])], "holds nan at row 0, column 1"),
    "Inf": lambda t: (["--centroids", _npy(t, [[1.0], [-np.inf]])], "holds -inf at row 1, column 0"),
    "beyond float32": lambda t: (
        ["--centroids", _npy(t, [[1e39, 0.0]])],
        "value 1e+39 at row 0, column 0 does not fit",
    ),
    "object array": lambda t: (["--centroids", _npy(t, [[1, "a"]], object)], "cannot read as .npy"),
    "strings in npy": lambda t: (["--centroids", _npy(t, [["1", "2"]])], "centroids must be numeric"),
    "non-numeric CSV": lambda t: (
        ["--centroids", _text(t, "c.csv", "1,2\n3,x\n")],
        "c.csv: cannot read as numeric CSV",
    ),
    "ragged CSV": lambda t: (["--centroids", _text(t, "c.csv", "1,2\n3\n")], "c.csv: cannot read as numeric CSV"),
    "empty CSV": lambda t: (["--centroids", _text(t, "c.csv", "")], "at least one row and one feature"),
    "k > rows": lambda t: (
        ["--dataset", "npy", "--data", _npy(t, np.ones((5, 3))), "--clusters", "10"],
        "--clusters 10 is more than the 5 training rows",
    ),
    "clusters 0": lambda t: (["--clusters", "0"], "--clusters must be at least 1, got 0"),
    "dataset without data": lambda t: (["--dataset", "npy"], "--dataset npy needs --data PATH"),
    "pickle without trust": lambda t: (["--sklearn-model", _pickle_file(t, {})], "pass --trust-pickle"),
    "trust without model": lambda t: (["--trust-pickle"], "--trust-pickle applies only to --sklearn-model"),
    "pickle of a dict": lambda t: (
        ["--sklearn-model", _pickle_file(t, {"a": 1}), "--trust-pickle"],
        "holds builtins.dict, not a scikit-learn k-means model",
    ),
    "other estimator": lambda t: (
        ["--sklearn-model", _pickle_file(t, LinearRegression()), "--trust-pickle"],
        "holds sklearn.linear_model._base.LinearRegression, not a scikit-learn k-means model",
    ),
    "unfitted KMeans": lambda t: (
        ["--sklearn-model", _pickle_file(t, KMeans(3)), "--trust-pickle"],
        "the KMeans is not fitted (no cluster_centers_)",
    ),
    "garbage pickle": lambda t: (
        ["--sklearn-model", _text(t, "m.pkl", "garbage"), "--trust-pickle"],
        "m.pkl: cannot unpickle",
    ),
    "missing pickle": lambda t: (["--sklearn-model", str(t / "m.pkl"), "--trust-pickle"], "m.pkl: no such file"),
    "mnist pickle that runs code": lambda t: (
        ["--dataset", "mnist-pkl", "--data", _pickle_file(t, _RunsCode())],
        "refusing to load posix.system",
    ),
    "mnist pickle of wrong shape": lambda t: (
        ["--dataset", "mnist-pkl", "--data", _pickle_file(t, 42)],
        "expected a (train, valid, test) tuple",
    ),
    "idx folder missing": lambda t: (["--dataset", "mnist-idx", "--data", str(t / "x")], "not a folder"),
    "idx file absent": lambda t: (["--dataset", "mnist-idx", "--data", str(t)], "holds no train-images-idx3-ubyte"),
    "idx wrong magic": lambda t: (
        ["--dataset", "mnist-idx", "--data", _idx_with(t, lambda b: b"\x00\x00\x08\x01" + b[4:])],
        "IDX magic 0x00000801, expected 0x00000803",
    ),
    "idx truncated": lambda t: (
        ["--dataset", "mnist-idx", "--data", _idx_with(t, lambda b: b[:-5])],
        "expected 15696 for 20x28x28 images",
    ),
    "reference rows of another width": lambda t: (
        ["--centroids", _npy(t, np.ones((2, 3))), "--dataset", "csv", "--data", _text(t, "r.csv", "1,2\n")],
        "r.csv: rows have 2 features, the model 3",
    ),
}


def _idx_with(tmp: Path, damage: Callable[[bytes], bytes]) -> str:
    path = write_idx_images(tmp / "train-images-idx3-ubyte", mnist_like_pixels(20), compress=False)
    path.write_bytes(damage(path.read_bytes()))
    return str(tmp)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args, expected = CASES[case](tmp_path)
    out = tmp_path / "out"

    status = main([*args, "--out", str(out)])

    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("python -m model_build: error: ")
    assert expected in stderr
    assert not out.exists()


def test_a_failed_build_keeps_the_previous_outputs(tmp_path: Path) -> None:
    assert main(["--max-rows", "200", "--out", str(tmp_path)]) == 0
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    assert main(["--centroids", _npy(tmp_path, [[np.nan]]), "--out", str(tmp_path)]) == 1

    after = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.name != "input.npy"}
    assert after == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "truncated at byte 0"),
        (ndarray.encode([np.ones((2, 2), np.float32)])[:50], "truncated at byte 36"),
        (b"\x1f\x8b" + b"broken gzip", "not a readable tar.gz"),
        (ndarray.encode([np.ones((2, 2), np.float64)]), "k-means needs one float32 (clusters, features) array"),
        (ndarray.encode([np.ones(3, np.float32)]), "k-means needs one float32 (clusters, features) array"),
    ],
)
def test_inspect_refuses_truncated_or_foreign_artifacts(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "model_algo-1"
    path.write_bytes(content)

    result = run_module("model_build", ["inspect", path])

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"{path}: " in result.stderr
    assert expected in result.stderr


def test_sklearn_model_is_not_unpickled_without_trust(tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(_RunsCode(), path)
    marker = "pass --trust-pickle if you trust this file"
    assert main(["--sklearn-model", str(path), "--out", str(tmp_path / "o")]) == 1
    result = run_module("model_build", ["--sklearn-model", path, "--out", tmp_path / "o"])
    assert marker in result.stderr
    assert "pwned" not in result.stdout
