"""The real CDK CLI (`npx cdk synth`), offline and without AWS credentials."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from model_build.cli import main as build_model
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def offline_env(home: Path) -> dict[str, str]:
    """The environment of a machine with no AWS configuration at all."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return env | {
        "HOME": str(home),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }


def cdk_synth(home: Path, outdir: Path, *context: str) -> subprocess.CompletedProcess[str]:
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)]
    for item in context:
        command += ["--context", item]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=offline_env(home), capture_output=True, text=True, timeout=300, check=False
    )


def asset_hashes(outdir: Path) -> list[str]:
    assets = json.loads((outdir / "KMeansEndpoint.assets.json").read_text())
    return sorted(assets["files"])


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-artifact")
    assert build_model(["--max-rows", "300", "--out", str(out)]) == 0
    return out


def test_synth_works_offline_without_credentials(artifact: Path, tmp_path: Path) -> None:
    result = cdk_synth(tmp_path, tmp_path / "out", f"artifact_dir={artifact}")

    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "out" / "KMeansEndpoint.template.json").read_text())
    assert "AWS::SageMaker::Endpoint" in {resource["Type"] for resource in template["Resources"].values()}


def test_rebuilding_the_same_model_changes_nothing(artifact: Path, tmp_path: Path) -> None:
    first = cdk_synth(tmp_path, tmp_path / "first", f"artifact_dir={artifact}")
    assert build_model(["--max-rows", "300", "--out", str(artifact)]) == 0
    second = cdk_synth(tmp_path, tmp_path / "second", f"artifact_dir={artifact}")

    assert first.returncode == second.returncode == 0, second.stderr[-3000:]
    templates = [(tmp_path / run / "KMeansEndpoint.template.json").read_text() for run in ("first", "second")]
    assert templates[0] == templates[1]
    assert asset_hashes(tmp_path / "first") == asset_hashes(tmp_path / "second")


def test_a_new_model_changes_the_asset(artifact: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert build_model(["--max-rows", "300", "--seed", "5", "--clusters", "8", "--out", str(other)]) == 0
    first = cdk_synth(tmp_path, tmp_path / "first", f"artifact_dir={artifact}")
    second = cdk_synth(tmp_path, tmp_path / "second", f"artifact_dir={other}")

    assert first.returncode == second.returncode == 0
    assert asset_hashes(tmp_path / "first") != asset_hashes(tmp_path / "second")


def test_missing_artifact_fails_synth_with_one_line_naming_the_build_command(tmp_path: Path) -> None:
    result = cdk_synth(tmp_path, tmp_path / "out", f"artifact_dir={tmp_path / 'nothing'}")

    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert ours == [
        f"error: {tmp_path / 'nothing' / 'model.tar.gz'} not found: build the model first with "
        "make build (or: python -m model_build --out DIR)"
    ]


def test_a_bad_setting_fails_synth_naming_the_key(artifact: Path, tmp_path: Path) -> None:
    result = cdk_synth(tmp_path, tmp_path / "out", f"artifact_dir={artifact}", "instance_count=0")

    assert result.returncode != 0
    assert "error: context instance_count: 0 is outside 1..100" in result.stderr
