"""The GitHub OIDC roles: trusted only by this repository's environments and PRs, least privilege."""

from __future__ import annotations

from typing import Any

from tests.stacks.conftest import Synthesized


def role(stack: Synthesized, description: str) -> dict[str, Any]:
    (found,) = [r for r in stack.resources("AWS::IAM::Role").values() if description in r["Properties"]["Description"]]
    return found


def statements_of(stack: Synthesized, role_resource: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = next(k for k, v in stack.resources("AWS::IAM::Role").items() if v is role_resource or v == role_resource)
    (policy,) = [
        p for p in stack.resources("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    found: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_the_provider_is_githubs_issuer_for_sts(github_oidc: Synthesized) -> None:
    (provider,) = github_oidc.resources("AWS::IAM::OIDCProvider").values()
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]


def test_deploy_role_trusts_only_the_repositorys_environments(github_oidc: Synthesized) -> None:
    (statement,) = role(github_oidc, "deploy")["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]
    assert conditions["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    assert conditions["StringLike"]["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/kmeans-byom:environment:staging",
        "repo:acme/kmeans-byom:environment:production",
    ]


def test_diff_role_trusts_only_pull_requests_and_may_only_look_up(github_oidc: Synthesized) -> None:
    diff = role(github_oidc, "cdk diff")
    (trust,) = diff["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    subjects = trust["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"]
    assert subjects == ["repo:acme/kmeans-byom:pull_request"]
    (statement,) = statements_of(github_oidc, diff)
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"iam:ResourceTag/aws-cdk:bootstrap-role": ["lookup"]}}


def test_deploy_role_assumes_only_bootstrap_roles_and_reads_this_projects_endpoints(github_oidc: Synthesized) -> None:
    statements = statements_of(github_oidc, role(github_oidc, "deploy"))
    assume = next(s for s in statements if s["Action"] == "sts:AssumeRole")
    assert assume["Condition"]["StringEquals"]["iam:ResourceTag/aws-cdk:bootstrap-role"] == [
        "deploy", "file-publishing", "lookup",
    ]  # fmt: skip
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "sts:AssumeRole", "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel",
        "sagemaker:InvokeEndpoint", "cloudformation:DescribeStacks", "s3:GetObject",
    }  # fmt: skip


def test_no_long_lived_keys(github_oidc: Synthesized) -> None:
    types = {r["Type"] for r in github_oidc.body["Resources"].values()}
    assert "AWS::IAM::AccessKey" not in types
    assert "AWS::IAM::User" not in types


def test_roles_are_exported_for_the_workflows(github_oidc: Synthesized) -> None:
    assert {"DeployRoleArn", "DiffRoleArn"} <= set(github_oidc.body["Outputs"])
