"""What each kind of change does to a deployed stack, by the CDK CLI's own diff engine (offline).

The table these tests prove is in the README ("Who owns what on a deploy").
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from model_build.cli import main as build_model
from tests.conftest import REPO_ROOT, warm_synth_environment
from tests.stacks.test_cdk_cli import cdk_synth, offline_env
from tests.warm_synth import client_command

pytestmark = pytest.mark.slow
RESOURCE_LINE = re.compile(r"^\[(?P<op>[-+~])\] (?P<type>AWS::\S+) \S+ (?P<logical>\S+)(?P<replace> replace)?$")


def changes(home: Path, deployed: Path, *context: str) -> dict[str, str]:
    """Resource type -> 'replace' or 'update' for every resource `cdk diff` finds changed."""
    command = ["npx", "--no-install", "cdk", "--app", client_command(), "diff", "KMeansEndpoint", "--no-notices",
               "--template", str(deployed), "--output", str(home / "cdk.out")]  # fmt: skip
    for item in context:
        command += ["--context", item]
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=offline_env(home) | warm_synth_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = {}
    for line in (result.stdout + result.stderr).splitlines():
        match = RESOURCE_LINE.match(line.strip())
        if match:
            found[match["type"]] = "replace" if match["replace"] else "update"
    if not found:
        assert "There were no differences" in result.stdout + result.stderr
    return found


@pytest.fixture(scope="module")
def deployed(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as deployed: the default stack over the session's artifact."""
    home = tmp_path_factory.mktemp("home")
    out = tmp_path_factory.mktemp("deployed")
    assert cdk_synth(home, out, f"artifact_dir={artifact_dir}").returncode == 0
    return out / "KMeansEndpoint.template.json"


def test_nothing_changed_means_no_difference(deployed: Path, artifact_dir: Path, tmp_path: Path) -> None:
    assert changes(tmp_path, deployed, f"artifact_dir={artifact_dir}") == {}


def test_an_endpoint_setting_keeps_the_model(deployed: Path, artifact_dir: Path, tmp_path: Path) -> None:
    found = changes(tmp_path, deployed, f"artifact_dir={artifact_dir}", "instance_count=2")
    assert found == {"AWS::SageMaker::EndpointConfig": "replace"}


def test_a_new_artifact_replaces_model_and_config_but_updates_the_same_endpoint(deployed: Path, tmp_path: Path) -> None:
    assert build_model(["--max-rows", "300", "--seed", "4", "--out", str(tmp_path / "new")]) == 0

    found = changes(tmp_path, deployed, f"artifact_dir={tmp_path / 'new'}")

    assert found == {
        "AWS::SageMaker::Model": "replace",
        "AWS::SageMaker::EndpointConfig": "replace",
        "AWS::IAM::ManagedPolicy": "update",  # read access moves to the new object
    }
    endpoint = next(
        r for r in json.loads(deployed.read_text())["Resources"].values() if r["Type"] == "AWS::SageMaker::Endpoint"
    )
    # The Endpoint keeps its name and follows the new config with a blue/green update guarded by alarms.
    assert endpoint["Properties"]["EndpointName"] == "KMeansEndpoint"
    assert endpoint["Properties"]["EndpointConfigName"]["Fn::GetAtt"][1] == "EndpointConfigName"
    assert len(endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]) == 2
