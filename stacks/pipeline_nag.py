"""cdk-nag acknowledgements for what CDK Pipelines generates; each names the full finding id and why.

They are made on the pipeline stack, so they apply to every role the library creates under it;
finding ids that embed a logical id are computed from the construct, never written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_s3 as s3

from stacks.nag import AWS_SOLUTIONS, NIST, acknowledge

ARTIFACT_ACTIONS = {
    "kms:GenerateDataKey*": "encrypting pipeline artifacts with the pipeline's own key",
    "kms:ReEncrypt*": "re-encrypting pipeline artifacts with the pipeline's own key",
    "s3:Abort*": "aborting multipart uploads of artifacts",
    "s3:DeleteObject*": "replacing artifacts between executions",
    "s3:GetBucket*": "locating and reading the artifact bucket's configuration",
    "s3:GetObject*": "reading artifacts and their versions",
    "s3:List*": "listing artifacts",
}
LOCAL_ARN = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>"


def acknowledge_pipeline_findings(
    stack: cdk.Stack, *, artifact_bucket: s3.IBucket, projects: Sequence[codebuild.IProject]
) -> None:
    """Acknowledge, on the pipeline's stack, the findings in the roles and projects CDK Pipelines generates."""
    for action, purpose in ARTIFACT_ACTIONS.items():
        acknowledge(
            stack,
            f"{AWS_SOLUTIONS}-IAM5[Action::{action}]",
            f"CDK Pipelines grants this action family for {purpose}; it is limited to this pipeline's own "
            "artifact bucket and key.",
        )
    acknowledge(
        stack,
        f"{AWS_SOLUTIONS}-IAM5[Resource::<{_logical_id(artifact_bucket)}.Arn>/*]",
        "Pipeline artifacts are stored under keys chosen per execution, inside this pipeline's own bucket.",
    )
    acknowledge(
        stack,
        f"{NIST}-IAMNoInlinePolicy",
        "CDK Pipelines attaches its generated grants as each role's default (inline) policy; every role "
        "belongs to one pipeline action and is deleted with it.",
    )
    _projects(stack, projects)
    _library_roles(stack)


def _logical_id(construct: cdk.IResource) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnElement)
    return cdk.Stack.of(construct).get_logical_id(resource)


def _projects(stack: cdk.Stack, projects: Sequence[codebuild.IProject]) -> None:
    assert projects, "the pipeline has no CodeBuild projects yet: build it before acknowledging"
    for project in projects:
        name = _logical_id(project)
        acknowledge(
            stack,
            f"{AWS_SOLUTIONS}-IAM5[Resource::{LOCAL_ARN.format(service='logs')}:log-group:/aws/codebuild/<{name}>:*]",
            "CodeBuild names one log stream per build in the project's own log group.",
        )
        acknowledge(
            stack,
            f"{AWS_SOLUTIONS}-IAM5[Resource::{LOCAL_ARN.format(service='codebuild')}:report-group/<{name}>-*]",
            "CodeBuild creates the project's report groups (the verification JUnit report) under its name.",
        )


def _library_roles(stack: cdk.Stack) -> None:
    acknowledge(
        stack,
        f"{AWS_SOLUTIONS}-IAM5[Resource::*]",
        "Two library grants have no resource-level form: codebuild:StartBuild/BatchGetBuilds/StopBuild for "
        "the asset-publishing action, and cloudformation:DescribeStacks/s3:ListBucket for self-mutation.",
    )
    acknowledge(
        stack,
        f"{AWS_SOLUTIONS}-IAM5[Resource::arn:*:iam::<AWS::AccountId>:role/*]",
        "Self-mutation assumes the CDK bootstrap roles, restricted by the iam:ResourceTag/aws-cdk:bootstrap-role "
        "condition to the deploy and publishing roles.",
    )
    acknowledge(
        stack,
        f"{AWS_SOLUTIONS}-IAM5[Resource::{LOCAL_ARN.format(service='logs')}:log-group:/aws/codebuild/*]",
        "The asset-publishing CodeBuild projects are created per asset by the library; their log groups carry "
        "generated names.",
    )
    acknowledge(
        stack,
        f"{AWS_SOLUTIONS}-IAM5[Resource::{LOCAL_ARN.format(service='codebuild')}:report-group/*]",
        "The asset-publishing CodeBuild projects are created per asset by the library; their report groups "
        "carry generated names.",
    )
