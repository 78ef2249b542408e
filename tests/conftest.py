"""Shared fixtures: repository paths and a runner for the project's command lines."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MXNET_PYTHON = REPO_ROOT / ".venv-mxnet" / "bin" / "python"
MXNET_ORACLE = REPO_ROOT / "scripts" / "mxnet_oracle.py"


def run_module(module: str, args: Sequence[str | Path], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m module args` from the repository root, capturing text output."""
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
