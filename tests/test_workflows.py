"""GitHub Actions: PRs test and diff; main deploys staging, verifies, then prod behind its environment."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def run_commands(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_pull_requests_run_check_test_and_a_diff_summary() -> None:
    jobs = load("pull-request.yml")["jobs"]
    assert run_commands(jobs["test"]) == ["make check", "make test"]
    assert jobs["diff"]["needs"] == "test"
    assert any("cdk diff" in command and "GITHUB_STEP_SUMMARY" in command for command in run_commands(jobs["diff"]))


def test_main_deploys_staging_then_prod_behind_the_production_environment() -> None:
    workflow = load("deploy.yml")
    assert workflow[True]["push"]["branches"] == ["main"]  # yaml reads the key `on` as True
    jobs = workflow["jobs"]
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("test", "staging")
    assert jobs["staging"]["with"] == {"stage": "staging", "environment": "staging"}
    assert jobs["prod"]["with"] == {"stage": "prod", "environment": "production"}


def test_a_stage_deploys_then_verifies_with_oidc_credentials_only() -> None:
    job = load("deploy-stage.yml")["jobs"]["deploy"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    commands = run_commands(job)
    assert commands.index(next(c for c in commands if "cdk deploy" in c)) < commands.index(
        next(c for c in commands if c.startswith("make verify "))
    )
    credentials = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert set(credentials["with"]) == {"role-to-assume", "aws-region"}  # no access keys


def test_an_approved_package_is_deployed_by_hand_with_its_arn_as_input() -> None:
    workflow = load("deploy-package.yml")
    (field,) = workflow[True]["workflow_dispatch"]["inputs"]
    assert field == "model_package_arn"
    jobs = workflow["jobs"]
    assert jobs["prod"]["needs"] == "staging"
    for job in jobs.values():
        assert job["with"]["model_package_arn"] == "${{ inputs.model_package_arn }}"
    commands = run_commands(load("deploy-stage.yml")["jobs"]["deploy"])
    recorded = commands.index('make record-package MODEL_PACKAGE="$MODEL_PACKAGE"')
    deploy = commands.index(next(c for c in commands if "cdk deploy" in c))
    assert recorded < deploy
    assert "make -s package-context" in commands[deploy]
    assert 'MODEL_PACKAGE="$MODEL_PACKAGE"' in commands[-1]


def test_every_action_is_pinned_to_a_commit() -> None:
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert len(workflows) == 4, workflows
    for path in workflows:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert len(step["uses"].split("@")[1]) == 40, f"{path.name}: {step['uses']}"


def test_every_make_target_the_workflows_run_exists() -> None:
    jobs = [
        job for path in sorted(WORKFLOWS.glob("*.yml")) for job in yaml.safe_load(path.read_text())["jobs"].values()
    ]
    commands = [command for job in jobs if "steps" in job for command in run_commands(job)]
    targets = {word for command in commands if command.startswith("make ") for word in command.split()[1:]}
    assert "setup-deploy" in targets
    for target in sorted(targets):
        # -q asks whether it is up to date: 0 or 1 for a known target, 2 for an unknown one.
        probe = subprocess.run(["make", "-q", target], cwd=WORKFLOWS.parent.parent, capture_output=True, check=False)
        assert probe.returncode in {0, 1}, f"make {target}: {probe.stderr.decode().strip()}"
