"""`python -m monitoring export`: the captured request rows of a window, as CSV to retrain on; every refusal.

AWS is moto in process and the capture objects are written by the local runtime's own DataCapture, as in
tests/monitoring/test_cli.py (whose stand-in stack this reuses).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from local_aws.runtime.capture import Exchange
from monitoring.export import main
from tests.conftest import REPO_ROOT
from tests.monitoring.test_cli import STACK, build, capture, deploy, refused
from tests.monitoring.test_cli import aws as aws  # noqa: PLC0414 (the fixture, re-exported for this module)
from tests.monitoring.traffic import ENDPOINT, VARIANT, exchanges, in_distribution
from wire.media_types import CSV, JSON, JSONLINES, PROTOBUF

pytestmark = [pytest.mark.filterwarnings("ignore:Tried to parse"), pytest.mark.slow]
__all__ = ["build"]  # the module-scoped build fixture


def export(*extra: str | Path) -> int:
    return main(["--stack", STACK, "--since", "1h", *map(str, extra)])


def test_every_request_type_is_exported_row_for_row(
    aws: dict[str, Any], build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, build)
    rows = in_distribution(400)
    traffic = [
        exchange
        for index, request_type in enumerate((CSV, JSON, JSONLINES, PROTOBUF))
        for exchange in exchanges(build, rows[index * 100 : (index + 1) * 100], request_type=request_type)
    ]
    capture(aws, traffic)
    out = tmp_path / "recent.csv"

    code = export("--out", out)

    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "exported 400 rows from" in printed.out
    exported = np.loadtxt(out, delimiter=",", dtype=np.float32)
    assert sorted(map(tuple, exported.tolist())) == sorted(map(tuple, rows.tolist()))  # float32 round-trips


def test_another_endpoint_whose_name_starts_alike_is_not_exported(
    aws: dict[str, Any], build: Path, tmp_path: Path
) -> None:
    deploy(aws, build)
    capture(aws, exchanges(build, in_distribution(100)))
    staging = [
        Exchange(f"{ENDPOINT}-staging", e.variant, e.request_type, e.request, e.response_type, e.response)
        for e in exchanges(build, in_distribution(300, seed=5))
    ]
    capture(aws, staging)

    assert export("--out", tmp_path / "r.csv", "--variant", VARIANT) == 0
    assert np.loadtxt(tmp_path / "r.csv", delimiter=",").shape == (100, 64)


def test_a_window_without_capture_is_nothing_to_read_and_nothing_is_written(
    aws: dict[str, Any], build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, build)
    out = tmp_path / "r.csv"

    refused(capsys, export("--out", out), 3, "no captured requests of KMeansEndpoint (AllTraffic) in the window")
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_capture_file_is_refused_and_nothing_is_written(
    aws: dict[str, Any], build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, build)
    capture(aws, exchanges(build, in_distribution(200)))
    (key,) = [item["Key"] for item in aws["s3"].list_objects_v2(Bucket="capture-bucket")["Contents"]]
    body = aws["s3"].get_object(Bucket="capture-bucket", Key=key)["Body"].read()
    aws["s3"].put_object(Bucket="capture-bucket", Key=key, Body=body[: len(body) // 2])  # truncated mid-record
    out = tmp_path / "r.csv"

    refused(capsys, export("--out", out), 3, f"s3://capture-bucket/{key} line ")
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_say_one_line(
    aws: dict[str, Any], build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, export("--out", tmp_path / "r.csv"), 2, f"stack {STACK} does not exist")
    deploy(aws, build)
    refused(capsys, export("--out", tmp_path / "r.csv", "--variant", "Blue"), 2, "has no variant Blue")
    refused(capsys, main(["--stack", STACK, "--out", str(tmp_path / "r.csv")]), 2, "give the window as --since")
    code = main(["--stack", STACK, "--since", "1h"])
    assert code == 2
    assert "--out" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_cannot_be_written_is_a_usage_error(
    aws: dict[str, Any], build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(aws, build)
    capture(aws, exchanges(build, in_distribution(100)))
    (tmp_path / "a-file").write_text("")

    refused(capsys, export("--out", tmp_path / "a-file" / "r.csv"), 2, "cannot write")
    assert [path.name for path in tmp_path.iterdir()] == ["a-file"]


def test_the_module_dispatches_export() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "monitoring", "export", "--since", "soon", "--out", "x.csv"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 2
    assert "python -m monitoring export: error: argument --since" in ran.stderr
