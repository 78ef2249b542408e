"""GitHubOidcStack: roles GitHub Actions assumes through OIDC, so workflows hold no long-lived keys.

Two roles, each trusted only by this repository's workflows:
- `deploy`: the `staging` and `production` environments; may assume the CDK bootstrap roles
  (deploy, publishing, lookup) and run the verifier against this project's endpoints;
- `diff`: pull requests; may assume only the bootstrap lookup role (read-only) for `cdk diff`.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.nag import AWS_SOLUTIONS, acknowledge

GITHUB_ISSUER = "token.actions.githubusercontent.com"
ENVIRONMENTS = ("staging", "production")
BOOTSTRAP_ROLE_TAG = "iam:ResourceTag/aws-cdk:bootstrap-role"
ENDPOINT_PREFIX = "kmeansendpoint-"  # stage stacks are KMeansEndpoint-<stage>; SageMaker lowercases ARNs


class GitHubOidcStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, repository: str, **kwargs: Any) -> None:
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
        for statement in _verifier_statements(self):
            self.deploy_role.add_to_policy(statement)
        self.diff_role.add_to_policy(_assume_bootstrap_roles(["lookup"]))
        for name, role in (("DeployRoleArn", self.deploy_role), ("DiffRoleArn", self.diff_role)):
            cdk.CfnOutput(self, name, value=role.role_arn)
        self._acknowledge()

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
        for kind in ("endpoint", "endpoint-config", "model"):
            acknowledge(
                self.deploy_role,
                f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
                f"{kind}/{ENDPOINT_PREFIX}*]",
                f"The verifier reads this project's {kind}s, whose names start with the stage stacks' name.",
            )
        acknowledge(
            self.deploy_role,
            f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:"
            "stack/KMeansEndpoint-*/*]",
            "The verifier reads the outputs of this project's stage stacks, whose ids CloudFormation generates.",
        )
        acknowledge(
            self.deploy_role,
            f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-*-assets-<AWS::AccountId>-<AWS::Region>/*]",
            "The verifier hashes the deployed model.tar.gz, an object of the CDK assets bucket named by its hash.",
        )


def _assume_bootstrap_roles(kinds: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["sts:AssumeRole"],
        resources=[f"arn:{cdk.Aws.PARTITION}:iam::{cdk.Aws.ACCOUNT_ID}:role/*"],
        conditions={"StringEquals": {BOOTSTRAP_ROLE_TAG: kinds}},
    )


def _verifier_statements(stack: cdk.Stack) -> list[iam.PolicyStatement]:
    def arn(service: str, resource: str, name: str) -> str:
        return stack.format_arn(service=service, resource=resource, resource_name=name)

    sagemaker = [arn("sagemaker", kind, f"{ENDPOINT_PREFIX}*") for kind in ("endpoint", "endpoint-config", "model")]
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:InvokeEndpoint",
            ],
            resources=sagemaker,
        ),
        iam.PolicyStatement(
            actions=["cloudformation:DescribeStacks"],
            resources=[arn("cloudformation", "stack", "KMeansEndpoint-*/*")],
        ),
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[f"arn:{cdk.Aws.PARTITION}:s3:::cdk-*-assets-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}/*"],
        ),
    ]
