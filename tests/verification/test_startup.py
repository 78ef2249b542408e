"""What `python -m verification` pays before its first check: held, because every deploy waits for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from verification import cli

REPO_ROOT = Path(__file__).resolve().parents[2]
# What some runs need and the rest should not pay for: the candidate gate's scikit-learn and SciPy (~1.5 s
# between them), the build's picture libraries, boto3's resource layer (botocore is enough), a terminal's bar.
NOT_AT_IMPORT = ("sklearn", "scipy", "matplotlib", "PIL", "boto3", "s3transfer", "tqdm")


def test_importing_the_cli_imports_no_scikit_learn_nor_what_only_some_runs_need() -> None:
    probe = f"import sys, verification.cli; print(sorted(m for m in {NOT_AT_IMPORT!r} if m in sys.modules))"

    imported = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )

    assert imported.stdout.strip() == "[]", imported.stdout


def test_clients_are_made_on_first_use_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    clients = cli._clients()

    assert len(clients) == 0
    assert clients["s3"] is clients["s3"]
    assert list(clients) == ["s3"]


def test_the_process_leaves_its_objects_out_of_the_exit_collection() -> None:
    # The interpreter's last collection walks every object botocore's models made: ~0.2-0.4 s of a ~2 s run.
    probe = (
        "import atexit, gc, runpy, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "sys.argv = ['verification', '--help']\n"
        "runpy.run_module('verification', run_name='__main__')\n"
    )

    exited = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=120
    )

    assert exited.returncode == 0, exited.stderr
    assert exited.stdout.rstrip().endswith("frozen True"), exited.stdout[-500:]
