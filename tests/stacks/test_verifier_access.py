"""The verifier's grants follow each stage's settings, in the pipeline's verify step and the GitHub deploy role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.constructs.scoring import ASYNC_FAILURE_KEY, ASYNC_OUTPUT_KEY
from tests.stacks.conftest import PIPELINE_CONTEXT, Synthesized, synthesize
from tests.stacks.test_github_oidc_stack import role, statements_of
from tests.stacks.test_pipeline_stack import make_dry_run

ASYNC = {"async_inference": "true"}
SCORING = {"scoring": "true"}


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in statements if "Sid" in statement}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def verify_role_statements(pipeline: Synthesized, stage: str) -> list[dict[str, Any]]:
    """The statements of one stage's verify step: the policy that grants that stage's endpoint."""
    documents = [p["Properties"]["PolicyDocument"] for p in pipeline.resources("AWS::IAM::Policy").values()]
    (found,) = [d for d in documents if f"endpoint/kmeansendpoint-{stage}" in json.dumps(d)]
    statements: list[dict[str, Any]] = found["Statement"]
    return statements


@pytest.fixture(scope="module")
def async_pipeline(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(artifact_dir, tmp_path_factory.mktemp("cdk-pipeline-async"), {**PIPELINE_CONTEXT, **ASYNC})


@pytest.fixture(scope="module")
def scoring_github(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {"github_repository": "acme/kmeans-byom", **SCORING}
    return synthesize(artifact_dir, tmp_path_factory.mktemp("cdk-github-scoring"), context)


def test_a_plain_stage_asks_nothing_of_a_scoring_bucket(github_oidc: Synthesized) -> None:
    sids = set(by_sid(statements_of(github_oidc, role(github_oidc, "deploy"))))

    assert sids == {"DescribeAndInvokeEndpoint", "DescribeDeployedModel", "HashDeployedArtifact", "ReadStackOutputs"}


def test_an_async_stage_is_invoked_asynchronously_through_its_bucket_under_its_key(async_pipeline: Synthesized) -> None:
    statements = by_sid(verify_role_statements(async_pipeline, "staging"))

    assert statements["DescribeAndInvokeEndpoint"]["Action"] == [
        "sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpointAsync",
    ]  # fmt: skip
    written = json.dumps(statements["WriteVerifierRequests"]["Resource"])
    read = json.dumps(statements["ReadVerifierAnswers"]["Resource"])
    assert "kmeansendpoint-staging-*/input/kmeans-verify-*" in written
    assert all(key in read for key in (f"{ASYNC_OUTPUT_KEY}/*", f"{ASYNC_FAILURE_KEY}/*", "output/kmeans-verify-*"))
    assert statements["ListScoringBucket"]["Action"] == "s3:ListBucket"
    key = statements["UseStackScoringKey"]
    assert key["Condition"]["StringLike"] == {"aws:ResourceTag/kmeans-byom:stack": ["KMeansEndpoint-staging"]}
    assert "kms:ViaService" in key["Condition"]["StringEquals"]
    assert "iam:PassRole" not in json.dumps(statements)  # CreateTransformJob passes no role


def test_a_scoring_stage_runs_the_verifiers_transform_jobs_and_reads_its_stack(async_pipeline: Synthesized) -> None:
    statements = by_sid(verify_role_statements(async_pipeline, "staging"))

    jobs = statements["RunVerifierTransformJobs"]
    assert jobs["Action"] == ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob"]
    assert "transform-job/kmeans-verify-*" in json.dumps(jobs["Resource"])
    assert "ReadStackOutputs" in statements


def test_the_github_role_verifies_every_scoring_stage(scoring_github: Synthesized) -> None:
    statements = by_sid(statements_of(scoring_github, role(scoring_github, "deploy")))

    assert "sagemaker:InvokeEndpointAsync" not in listed(statements["DescribeAndInvokeEndpoint"]["Action"])
    written = json.dumps(statements["WriteVerifierRequests"]["Resource"])
    assert "kmeansendpoint-staging-*" in written
    assert "kmeansendpoint-prod-*" in written
    assert "ListScoringBucket" not in statements  # a transform's answer is read only once the job completed
    assert statements["UseStackScoringKey"]["Condition"]["StringLike"] == {
        "aws:ResourceTag/kmeans-byom:stack": ["KMeansEndpoint-staging", "KMeansEndpoint-prod"]
    }


def test_a_scoring_stages_verify_step_reads_its_stack_and_runs_the_batch_check(async_pipeline: Synthesized) -> None:
    projects = async_pipeline.resources("AWS::CodeBuild::Project").values()
    specs = [
        json.loads(p["Properties"]["Source"]["BuildSpec"]) for p in projects if "BuildSpec" in p["Properties"]["Source"]
    ]
    commands = [c for spec in specs for c in spec.get("phases", {}).get("build", {}).get("commands", [])]

    (command,) = [c for c in commands if c.startswith("make verify ") and "KMeansEndpoint-staging" in c]
    expanded = make_dry_run(command)
    assert 'python -m verification --stack "KMeansEndpoint-staging"' in expanded
    assert "--batch" in expanded
