"""The verifier, run with only what the pipeline's verify step and the GitHub deploy role grant it.

A stage stack is deployed with the real CDK CLI to the strict local AWS; each role is made in the local IAM
from `verifier_statements` exactly as the stacks synthesize them, and the verifier runs under
`python -m local_aws run --as ROLE`. Removing any one statement must stop it with AccessDenied (exit 3).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from stacks.composition import compose_endpoint
from stacks.endpoint_stack import KMeansEndpointStack
from stacks.github_oidc_stack import every_stage
from stacks.names import stage_stack_name
from stacks.pipeline_stack import stage_endpoint
from stacks.settings import Settings
from stacks.stages import load_stages, stage_settings
from stacks.verifier_access import VerifiedEndpoints, verifier_statements
from tests.conftest import RunningLocalAws
from tests.intrinsics import resolve
from tests.stacks.conftest import CDK_JSON_CONTEXT
from tests.test_end_to_end import QUIET
from tests.test_end_to_end import cdk as cdk_run

pytestmark = pytest.mark.slow
STAGE = "staging"
STACK = stage_stack_name(STAGE)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
# Each kind of stage, by the context that makes `staging` one. A stage with a scoring bucket (an asynchronous
# one has one too) is verified through it as well: `make verify BATCH=1`, as the pipeline's step runs it.
KINDS: dict[str, dict[str, str]] = {
    "plain": {},
    "async": {"async_inference": "true"},  # answered only through InvokeEndpointAsync
    "scoring": {"scoring": "true"},
}


@dataclass(frozen=True)
class Deployed:
    context: dict[str, str]
    settings: Settings
    outputs: dict[str, str]

    @property
    def batch(self) -> list[str]:
        return ["--batch"] if self.settings.scoring_enabled else []


def _context_flags(context: dict[str, str]) -> list[str]:
    return [flag for key, value in context.items() for flag in ("-c", f"{key}={value}")]


@pytest.fixture(scope="module", params=list(KINDS))
def staging(
    request: pytest.FixtureRequest,
    bootstrapped: RunningLocalAws,
    artifact_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployed]:
    context = {"stage": STAGE, **KINDS[request.param]}
    outputs = tmp_path_factory.mktemp("staging") / "outputs.json"
    cdk_run(
        bootstrapped, artifact_dir, "deploy", STACK, *_context_flags(context), *QUIET, "--outputs-file", str(outputs)
    )
    deployed: dict[str, str] = json.loads(outputs.read_text())[STACK]
    yield Deployed(context, stage_settings_of(artifact_dir, context)[STAGE], deployed)
    bootstrapped.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")  # the verifier's requests
    cdk_run(bootstrapped, artifact_dir, "destroy", STACK, *_context_flags(context), "--force", "--no-notices")


def stage_settings_of(artifact_dir: Path, context: dict[str, str]) -> dict[str, Settings]:
    """Every stage's settings as the app reads them with this context (the GitHub role covers them all)."""
    stages = load_stages()
    full = {"artifact_dir": str(artifact_dir), **context}
    return {name: stage_settings(full, name, stages, check_artifact=False) for name in stages}


def synthesized_statements(artifact_dir: Path, context: dict[str, str], endpoints: Any) -> list[dict[str, Any]]:
    """The role's statements as the stack synthesizes them, with intrinsics resolved as a deploy would."""
    app = cdk.App(context={**CDK_JSON_CONTEXT, "artifact_dir": str(artifact_dir), **context})
    stack = compose_endpoint(app, app.node.get_all_context())
    chosen: VerifiedEndpoints = endpoints(stack)
    document = iam.PolicyDocument(statements=verifier_statements(stack, chosen))
    statements: list[dict[str, Any]] = resolve(stack.resolve(document.to_json()))["Statement"]
    return statements


def make_role(local_aws: RunningLocalAws, statements: list[dict[str, Any]]) -> str:
    iam_client, name = local_aws.client("iam"), f"verifier-{uuid.uuid4().hex[:8]}"
    arn: str = iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    iam_client.put_role_policy(RoleName=name, PolicyName="verifier", PolicyDocument=policy)
    return arn


def pipeline_statements(artifact_dir: Path, context: dict[str, str]) -> list[dict[str, Any]]:
    def endpoints(stack: KMeansEndpointStack) -> VerifiedEndpoints:
        return stage_endpoint(stack, stage_settings_of(artifact_dir, context)[STAGE])

    return synthesized_statements(artifact_dir, context, endpoints)


def github_statements(artifact_dir: Path, context: dict[str, str]) -> list[dict[str, Any]]:
    stages = stage_settings_of(artifact_dir, context)
    return synthesized_statements(artifact_dir, context, lambda stack: every_stage(stages))


def pipeline_source(deployed: Deployed) -> list[str]:
    """What the step's command passes (stacks/pipeline_stack.py, verify_command)."""
    if deployed.settings.scoring_enabled:
        return ["--stack", STACK]
    outputs = deployed.outputs
    return ["--endpoint", outputs["EndpointName"], "--expect-config", outputs["EndpointConfigName"]]


def verify_as(local_aws: RunningLocalAws, role_arn: str, artifact_dir: Path, *source: str) -> Any:
    return local_aws.run(
        sys.executable,
        "-m",
        "local_aws",
        "run",
        "--as",
        role_arn,
        "--",
        sys.executable,
        "-m",
        "verification",
        "--reference",
        str(artifact_dir),
        "--wait",
        "60",  # an ended transform job or async answer; a denial stops the verifier at once
        *source,
    )


StatementsOf = Callable[[Path, dict[str, str]], list[dict[str, Any]]]
SourceOf = Callable[[Deployed], list[str]]
ROLES: dict[str, tuple[StatementsOf, SourceOf]] = {
    # The pipeline's step gets the outputs from the deploy action's variables, not from the stack; a stage
    # with a scoring bucket reads its stack (the bucket's and the Model's names).
    "pipeline verify step": (pipeline_statements, pipeline_source),
    "GitHub deploy role": (github_statements, lambda deployed: ["--stack", STACK]),
}


@pytest.mark.parametrize("role", ROLES)
def test_the_verifier_passes_with_exactly_its_grants(
    bootstrapped: RunningLocalAws, staging: Deployed, artifact_dir: Path, role: str
) -> None:
    statements_of, source_of = ROLES[role]
    statements = statements_of(artifact_dir, staging.context)
    source = [*source_of(staging), *staging.batch]

    passed = verify_as(bootstrapped, make_role(bootstrapped, statements), artifact_dir, *source)

    assert statements
    assert passed.returncode == 0, passed.stdout[-2000:] + passed.stderr[-2000:]
    for index, statement in enumerate(statements):
        fewer = statements[:index] + statements[index + 1 :]
        denied = verify_as(bootstrapped, make_role(bootstrapped, fewer), artifact_dir, *source)
        output = denied.stdout + denied.stderr
        assert denied.returncode == 3, f"{role} without {statement['Sid']}: {output[-2000:]}"
        assert "AccessDenied" in output
        assert any(action in output for action in _listed(statement["Action"])), output[-2000:]


def _listed(actions: str | list[str]) -> list[str]:
    return [actions] if isinstance(actions, str) else actions
