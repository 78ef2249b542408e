"""What `python -m verification` calls, granted in one place to every role that runs it.

The pipeline's verify step grants it on one stage's endpoint; the GitHub deploy role on every stage's.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from stacks.nag import acknowledge_wildcard_resource
from stacks.names import sagemaker_arn_name


@dataclass(frozen=True)
class VerifiedEndpoints:
    """Which endpoints a role may verify: names may end in `*`; `stack_name` None needs no stack reads."""

    endpoint_name: str
    generated_name_prefix: str  # the stack's unnamed EndpointConfig and Model
    stack_name: str | None
    artifact_objects_arn: str


def verifier_statements(scope: IConstruct, endpoints: VerifiedEndpoints) -> list[iam.PolicyStatement]:
    """Describe and invoke the endpoint, describe its config and model, hash the artifact, read the stack."""
    arn = Stack.of(scope).format_arn
    endpoint = sagemaker_arn_name(endpoints.endpoint_name)
    generated = sagemaker_arn_name(endpoints.generated_name_prefix) + "*"
    statements = [
        iam.PolicyStatement(
            sid="DescribeAndInvokeEndpoint",
            actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
            resources=[arn(service="sagemaker", resource="endpoint", resource_name=endpoint)],
        ),
        iam.PolicyStatement(
            sid="DescribeDeployedModel",
            actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            resources=[
                arn(service="sagemaker", resource="endpoint-config", resource_name=generated),
                arn(service="sagemaker", resource="model", resource_name=generated),
            ],
        ),
        iam.PolicyStatement(
            sid="HashDeployedArtifact", actions=["s3:GetObject"], resources=[endpoints.artifact_objects_arn]
        ),
    ]
    if endpoints.stack_name is not None:
        stack_arn = arn(service="cloudformation", resource="stack", resource_name=f"{endpoints.stack_name}/*")
        statements.append(
            iam.PolicyStatement(
                sid="ReadStackOutputs", actions=["cloudformation:DescribeStacks"], resources=[stack_arn]
            )
        )
    return statements


WILDCARD_REASONS = {
    "DescribeAndInvokeEndpoint": "The verifier reads and invokes this project's endpoints, whose names start with "
    "the stage stacks' name.",
    "DescribeDeployedModel": "The verifier describes the endpoint's config and model; CloudFormation generates "
    "their names, and a new artifact replaces them under new ones.",
    "HashDeployedArtifact": "The verifier hashes the deployed model.tar.gz, an object of the CDK assets bucket "
    "named by its hash.",
    "ReadStackOutputs": "The verifier reads the outputs of this project's stage stacks, whose ids CloudFormation "
    "generates.",
}


def acknowledge_verifier_wildcards(construct: IConstruct, statements: list[iam.PolicyStatement]) -> None:
    """Acknowledge, on `construct`, the IAM5 finding of each wildcard resource `verifier_statements` grants."""
    for statement in statements:
        for resource in statement.resources:
            if "*" in resource:
                acknowledge_wildcard_resource(construct, resource, WILDCARD_REASONS[str(statement.sid)])
