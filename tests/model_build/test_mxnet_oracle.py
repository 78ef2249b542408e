"""Real MXNet 1.9.1 (its own venv) loads what we build: the container's own reader, offline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from model_build import ndarray
from model_build.cli import main
from model_build.packaging import unpack_model
from tests.conftest import MXNET_ORACLE, MXNET_PYTHON

pytestmark = pytest.mark.mxnet


def run_oracle(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert MXNET_PYTHON.exists(), "run `make setup`: the MXNet oracle venv is missing"
    command = [str(MXNET_PYTHON), str(MXNET_ORACLE), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_mxnet_loads_a_freshly_built_artifact(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    model_file = tmp_path / "model_algo-1"
    model_file.write_bytes(unpack_model((tmp_path / "model.tar.gz").read_bytes(), "model.tar.gz"))
    np.save(tmp_path / "expected.npy", ndarray.load(model_file)[0])

    result = run_oracle("check", model_file, tmp_path / "expected.npy")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: MXNet 1.9.1 loads" in result.stdout


def test_oracle_rejects_a_model_that_differs(tmp_path: Path) -> None:
    ndarray.save(tmp_path / "model_algo-1", [np.zeros((2, 3), np.float32)])
    np.save(tmp_path / "expected.npy", np.ones((2, 3), np.float32))

    result = run_oracle("check", tmp_path / "model_algo-1", tmp_path / "expected.npy")

    assert result.returncode == 1
    assert "FAIL" in result.stdout


def test_golden_files_regenerate_identically(tmp_path: Path) -> None:
    golden = Path(__file__).resolve().parent.parent / "golden"

    assert run_oracle("golden", tmp_path).returncode == 0

    golden_files = sorted(golden.glob("*.mxnet"))
    assert golden_files, f"no golden files in {golden}"
    for path in golden_files:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
