"""GitHubOidcStack: roles GitHub Actions assumes through OIDC, so workflows hold no long-lived keys.

Two roles, each trusted only by this repository's workflows:
- `deploy`: the `staging` and `production` environments; may assume the CDK bootstrap roles
  (deploy, publishing, lookup) and run the verifier against this project's endpoints;
- `diff`: pull requests; may assume only the bootstrap lookup role (read-only) for `cdk diff`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.approval_trigger import registry_reader_statements
from stacks.nag import AWS_SOLUTIONS, acknowledge
from stacks.names import STAGE_STACKS_PATTERN, stage_stack_name
from stacks.settings import Settings
from stacks.verifier_access import (
    VerifiedEndpoints,
    acknowledge_verifier_wildcards,
    verified_stages,
    verifier_statements,
)

GITHUB_ISSUER = "token.actions.githubusercontent.com"
ENVIRONMENTS = ("staging", "production")
BOOTSTRAP_ROLE_TAG = "iam:ResourceTag/aws-cdk:bootstrap-role"


class GitHubOidcStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, repository: str, stages: Mapping[str, Settings], **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        provider = iam.CfnOIDCProvider(
            self,
            "Provider",
            url=f"https://{GITHUB_ISSUER}",
            client_id_list=["sts.amazonaws.com"],
        )
        subjects = [f"repo:{repository}:environment:{environment}" for environment in ENVIRONMENTS]
        self.deploy_role = self._role("DeployRole", provider, subjects, "deploy to staging and production")
        self.diff_role = self._role("DiffRole", provider, [f"repo:{repository}:pull_request"], "cdk diff on PRs")
        self.deploy_role.add_to_policy(_assume_bootstrap_roles(["deploy", "file-publishing", "lookup"]))
        verifier = verifier_statements(self, every_stage(stages))
        packaged = next((settings.model_package for settings in stages.values() if settings.model_package), None)
        for statement in [*verifier, *registry_reader_statements(self.deploy_role, packaged)]:
            self.deploy_role.add_to_policy(statement)
        self.diff_role.add_to_policy(_assume_bootstrap_roles(["lookup"]))
        for name, role in (("DeployRoleArn", self.deploy_role), ("DiffRoleArn", self.diff_role)):
            cdk.CfnOutput(self, name, value=role.role_arn)
        self._acknowledge()
        acknowledge_verifier_wildcards(self.deploy_role, verifier)

    def _role(self, construct_id: str, provider: iam.CfnOIDCProvider, subjects: list[str], purpose: str) -> iam.Role:
        principal = iam.FederatedPrincipal(
            provider.attr_arn,
            conditions={
                "StringEquals": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{GITHUB_ISSUER}:sub": subjects},
            },
            assume_role_action="sts:AssumeRoleWithWebIdentity",
        )
        return iam.Role(self, construct_id, assumed_by=principal, description=f"GitHub Actions: {purpose}",
                        max_session_duration=cdk.Duration.hours(1))  # fmt: skip

    def _acknowledge(self) -> None:
        for role in (self.deploy_role, self.diff_role):
            acknowledge(
                role,
                f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*]",
                "Only the CDK bootstrap roles, selected by their aws-cdk:bootstrap-role tag in the condition; "
                "their names carry the bootstrap qualifier, which differs per account.",
            )
            acknowledge(
                role,
                "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
                "Each role's grants are its own default policy, created and deleted with it.",
            )


def _assume_bootstrap_roles(kinds: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["sts:AssumeRole"],
        resources=[f"arn:{cdk.Aws.PARTITION}:iam::{cdk.Aws.ACCOUNT_ID}:role/*"],
        conditions={"StringEquals": {BOOTSTRAP_ROLE_TAG: kinds}},
    )


def every_stage(stages: Mapping[str, Settings]) -> VerifiedEndpoints:
    """Every stage stack's endpoint, its generated config and model, its outputs, and the CDK assets; and
    what the stages' settings add (asynchronous requests, the scoring buckets, their keys)."""
    assets = f"arn:{cdk.Aws.PARTITION}:s3:::cdk-*-assets-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}/*"
    return verified_stages(
        {stage_stack_name(name): settings for name, settings in stages.items()},
        endpoint_name=STAGE_STACKS_PATTERN,
        stack_name=STAGE_STACKS_PATTERN,
        reads_stack_outputs=True,
        artifact_objects_arn=assets,
    )
