"""cdk-nag, cfn-lint and checkov over every synthesized variant: nothing unexplained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from stacks.composition import compose
from tests.conftest import REPO_ROOT
from tests.stacks.conftest import CDK_JSON_CONTEXT, VARIANTS, Synthesized

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="session")
def templates(synthesized: dict[str, Synthesized], pipeline: Synthesized, github_oidc: Synthesized) -> dict[str, Path]:
    """Every template the app can synthesize: endpoint variants, the pipeline and its stages, GitHub OIDC."""
    found = {name: stack.path for name, stack in synthesized.items()}
    found["pipeline"] = pipeline.path
    found["github-oidc"] = github_oidc.path
    for stage_template in pipeline.path.parent.glob("assembly-*/*.template.json"):
        found[f"pipeline {stage_template.parent.name}"] = stage_template
    return found


TEMPLATE_NAMES = [
    *VARIANTS,
    "pipeline",
    "pipeline assembly-KMeansPipeline-Staging",
    "pipeline assembly-KMeansPipeline-Prod",
]


@pytest.mark.parametrize("variant", TEMPLATE_NAMES)
def test_cfn_lint_finds_no_errors_or_warnings(templates: dict[str, Path], variant: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(templates[variant])],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", TEMPLATE_NAMES)
def test_checkov_passes_or_skips_with_a_reason(templates: dict[str, Path], variant: str) -> None:
    assert CHECKOV.exists(), "run `make setup`: the checkov venv is missing"
    command = [CHECKOV, "-f", templates[variant], "--framework", "cloudformation"]
    result = subprocess.run(
        [*map(str, command), "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 10
    for skipped in report["results"]["skipped_checks"]:  # may be none: skips are only where a finding is accepted
        assert len(skipped["check_result"]["suppress_comment"]) > 30, skipped["check_id"]


def test_cdk_nag_fails_synth_on_an_unacknowledged_finding(artifact_dir: Path, tmp_path: Path) -> None:
    app = cdk.App(context={**CDK_JSON_CONTEXT, "artifact_dir": str(artifact_dir)}, outdir=str(tmp_path))
    stack = compose(app)
    iam.Role(stack, "TooBroad", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")).add_to_policy(
        iam.PolicyStatement(actions=["s3:*"], resources=["*"])
    )

    with pytest.raises(RuntimeError, match=r"^ValidationFailed") as raised:
        app.synth()

    assert "Acknowledge with 'AwsSolutions::AwsSolutions-IAM5[Action::s3:*]'" in str(raised.value)
    assert "KMeansEndpoint/TooBroad/" in str(raised.value)
