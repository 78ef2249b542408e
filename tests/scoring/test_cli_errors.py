"""Bad input to `python -m scoring`: one line, exit 1, and no job started."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.cli import main
from wire.media_types import PROTOBUF


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--input", "missing.csv"], "--input missing.csv: no such file or folder"),
        (["--input", "s3://b/in/", "--max-payload-mb", "0"], "--max-payload-mb 0 is outside 1..100"),
        (["--input", "s3://b/in/", "--instances", "0"], "--instances must be at least 1, got 0"),
    ],
)
def test_bad_options_are_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)

    status = main(["transform", "--output", str(tmp_path / "out"), *extra])

    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.count("\n") == 1
    assert message in stderr
    assert not (tmp_path / "out").exists()


def test_join_input_with_recordio_is_refused_before_any_aws_call(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def no_aws() -> None:
        raise AssertionError("an AWS client was made")

    monkeypatch.setattr("scoring.cli._clients", no_aws)
    arguments = ["--input", "s3://b/in/", "--content-type", PROTOBUF, "--join-input", "--output", "s3://b/out/"]

    status = main(["transform", *arguments])

    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.count("\n") == 1
    assert "--join-input needs CSV or JSON input" in stderr


@pytest.mark.parametrize("option", ["--input-filter", "--output-filter"])
def test_a_filter_with_recordio_is_refused_before_any_aws_call(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    def no_aws() -> None:
        raise AssertionError("an AWS client was made")

    monkeypatch.setattr("scoring.cli._clients", no_aws)
    arguments = ["--input", "s3://b/in/", "--content-type", PROTOBUF, option, "$[1:]", "--output", "s3://b/out/"]

    status = main(["transform", *arguments])

    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.count("\n") == 1
    assert f"{option} needs CSV or JSON input" in stderr
