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
from stacks.verifier_access import VerifiedEndpoints, verifier_statements
from tests.conftest import RunningLocalAws
from tests.intrinsics import resolve
from tests.test_end_to_end import QUIET
from tests.test_end_to_end import cdk as cdk_run

pytestmark = pytest.mark.slow
STAGE = "staging"
STACK = stage_stack_name(STAGE)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module")
def staging(
    bootstrapped: RunningLocalAws, artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    outputs = tmp_path_factory.mktemp("staging") / "outputs.json"
    cdk_run(
        bootstrapped,
        artifact_dir,
        "deploy",
        STACK,
        "-c",
        f"stage={STAGE}",
        *QUIET,
        "--outputs-file",
        str(outputs),
    )
    deployed: dict[str, str] = json.loads(outputs.read_text())[STACK]
    yield deployed
    cdk_run(bootstrapped, artifact_dir, "destroy", STACK, "-c", f"stage={STAGE}", "--force", "--no-notices")


def synthesized_statements(artifact_dir: Path, endpoints: Any) -> list[dict[str, Any]]:
    """The role's statements as the stack synthesizes them, with intrinsics resolved as a deploy would."""
    app = cdk.App(context={"artifact_dir": str(artifact_dir), "stage": STAGE})
    stack = compose_endpoint(app, app.node.get_all_context())
    chosen: VerifiedEndpoints = endpoints(stack) if callable(endpoints) else endpoints
    document = iam.PolicyDocument(statements=verifier_statements(stack, chosen))
    statements: list[dict[str, Any]] = resolve(stack.resolve(document.to_json()))["Statement"]
    return statements


def make_role(local_aws: RunningLocalAws, statements: list[dict[str, Any]]) -> str:
    iam_client, name = local_aws.client("iam"), f"verifier-{uuid.uuid4().hex[:8]}"
    arn: str = iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    iam_client.put_role_policy(RoleName=name, PolicyName="verifier", PolicyDocument=policy)
    return arn


def pipeline_statements(artifact_dir: Path) -> list[dict[str, Any]]:
    def endpoints(stack: KMeansEndpointStack) -> VerifiedEndpoints:
        return stage_endpoint(stack)

    return synthesized_statements(artifact_dir, endpoints)


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
        "5",
        *source,
    )


StatementsOf = Callable[[Path], list[dict[str, Any]]]
SourceOf = Callable[[dict[str, str]], list[str]]
ROLES: dict[str, tuple[StatementsOf, SourceOf]] = {
    # The pipeline's step gets the outputs from the deploy action's variables, not from the stack.
    "pipeline verify step": (
        pipeline_statements,
        lambda outputs: ["--endpoint", outputs["EndpointName"], "--expect-config", outputs["EndpointConfigName"]],
    ),
    "GitHub deploy role": (
        lambda artifact_dir: synthesized_statements(artifact_dir, every_stage()),
        lambda outputs: ["--stack", STACK],
    ),
}


@pytest.mark.parametrize("role", ROLES)
def test_the_verifier_passes_with_exactly_its_grants(
    bootstrapped: RunningLocalAws, staging: dict[str, str], artifact_dir: Path, role: str
) -> None:
    statements_of, source_of = ROLES[role]
    statements = statements_of(artifact_dir)

    passed = verify_as(bootstrapped, make_role(bootstrapped, statements), artifact_dir, *source_of(staging))

    assert passed.returncode == 0, passed.stdout[-2000:] + passed.stderr[-2000:]
    for index, statement in enumerate(statements):
        fewer = statements[:index] + statements[index + 1 :]
        denied = verify_as(bootstrapped, make_role(bootstrapped, fewer), artifact_dir, *source_of(staging))
        output = denied.stdout + denied.stderr
        assert denied.returncode == 3, f"{role} without {statement['Sid']}: {output[-2000:]}"
        assert "AccessDenied" in output
        assert any(action in output for action in _listed(statement["Action"])), output[-2000:]


def _listed(actions: str | list[str]) -> list[str]:
    return [actions] if isinstance(actions, str) else actions
