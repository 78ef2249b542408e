"""cdk-nag, cfn-lint and checkov over every synthesized variant: nothing unexplained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from stacks.composition import compose
from tests.conftest import REPO_ROOT
from tests.stacks.conftest import CDK_JSON_CONTEXT, PIPELINE_CONTEXT, VARIANTS, Synthesized, synthesize
from tests.stacks.registry_records import registry_context

OIDC = {"github_repository": "acme/kmeans-byom"}

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="session")
def templates(
    synthesized: dict[str, Synthesized], pipeline: Synthesized, github_oidc: Synthesized,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:  # fmt: skip
    """Every template the app can synthesize: endpoint variants, the pipeline and its stages, GitHub OIDC; and each
    again serving a registered package (-c model_package_group)."""
    found = {name: stack.path for name, stack in synthesized.items()}
    found["pipeline"] = pipeline.path
    found["github-oidc"] = github_oidc.path
    for stage_template in pipeline.path.parent.glob("assembly-*/*.template.json"):
        found[f"pipeline {stage_template.parent.name}"] = stage_template
    found |= registry_templates(tmp_path_factory)
    return found


def registry_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The endpoint, the pipeline (its rule, its stages) and GitHub's roles, serving a registered package."""
    no_build = tmp_path_factory.mktemp("no-build") / "build"
    found = {}
    for name, extra in (("registry", {}), ("registry pipeline", PIPELINE_CONTEXT), ("registry github-oidc", OIDC)):
        stack = synthesize(
            no_build, tmp_path_factory.mktemp(f"cdk-{name.replace(' ', '-')}"), extra | registry_context()
        )
        found[name] = stack.path
    for stage_template in found["registry pipeline"].parent.glob("assembly-*/*.template.json"):
        found[f"registry pipeline {stage_template.parent.name}"] = stage_template
    return found


TEMPLATE_NAMES = [
    *VARIANTS,
    "pipeline",
    "pipeline assembly-KMeansPipeline-Staging",
    "pipeline assembly-KMeansPipeline-Prod",
    "registry",
    "registry pipeline",
    "registry pipeline assembly-KMeansPipeline-Staging",
    "registry pipeline assembly-KMeansPipeline-Prod",
]


# Each tool runs once over every template (its start-up is most of its time); each template is then its own test.
# One xdist group keeps the templates' tests on one worker, so each tool runs once per session.
ONE_WORKER = pytest.mark.xdist_group("template-checks")


@pytest.fixture(scope="session")
def cfn_lint_matches(templates: dict[str, Path]) -> dict[Path, list[dict[str, Any]]]:
    """cfn-lint's findings by template, from one run over all of them."""
    paths = [templates[name].resolve() for name in TEMPLATE_NAMES]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.stdout.startswith("["), result.stdout[-2000:] + result.stderr[-2000:]  # it ran and reported
    findings: dict[Path, list[dict[str, Any]]] = {path: [] for path in paths}
    for match in json.loads(result.stdout):
        findings[Path(match["Filename"]).resolve()].append(match)
    return findings


@pytest.fixture(scope="session")
def checkov_report(templates: dict[str, Path]) -> dict[str, Any]:
    """checkov's JSON report from one run over every template."""
    assert CHECKOV.exists(), "run `make setup`: the checkov venv is missing"
    files = [str(templates[name].resolve()) for name in TEMPLATE_NAMES]
    result = subprocess.run(
        [str(CHECKOV), "-f", *files, "--framework", "cloudformation", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@ONE_WORKER
@pytest.mark.parametrize("variant", TEMPLATE_NAMES)
def test_cfn_lint_finds_no_errors_or_warnings(
    cfn_lint_matches: dict[Path, list[dict[str, Any]]], templates: dict[str, Path], variant: str
) -> None:
    path = templates[variant].resolve()

    assert path in cfn_lint_matches, "cfn-lint did not lint it"
    assert cfn_lint_matches[path] == []


@ONE_WORKER
@pytest.mark.parametrize("variant", TEMPLATE_NAMES)
def test_checkov_passes_or_skips_with_a_reason(
    checkov_report: dict[str, Any], templates: dict[str, Path], variant: str
) -> None:
    path = str(templates[variant].resolve())
    results = {
        kind: [check for check in checkov_report["results"][kind] if check["file_abs_path"] == path]
        for kind in ("passed_checks", "failed_checks", "skipped_checks")
    }

    assert results["failed_checks"] == [], [c["check_id"] for c in results["failed_checks"]]
    assert len(results["passed_checks"]) > 10
    for skipped in results["skipped_checks"]:  # may be none: skips are only where a finding is accepted
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
