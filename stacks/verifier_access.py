"""What `python -m verification` calls, granted in one place to every role that runs it.

The pipeline's verify step grants it on one stage's endpoint; the GitHub deploy role on every stage's.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from stacks.nag import acknowledge_wildcard_resource
from stacks.names import STACK_TAG_KEY, sagemaker_arn_name


@dataclass(frozen=True)
class VerifiedEndpoints:
    """Which endpoints a role may verify; `endpoint_name` and `stack_name` may end in `*`."""

    endpoint_name: str
    stack_name: str  # whose tagged Model and EndpointConfig may be described
    reads_stack_outputs: bool  # False where the outputs come another way (the pipeline's variables)
    artifact_objects_arn: str


def verifier_statements(scope: IConstruct, endpoints: VerifiedEndpoints) -> list[iam.PolicyStatement]:
    """Describe and invoke the endpoint, describe its config and model, hash the artifact, read the stack."""
    arn = Stack.of(scope).format_arn
    endpoint = sagemaker_arn_name(endpoints.endpoint_name)
    statements = [
        iam.PolicyStatement(
            sid="DescribeAndInvokeEndpoint",
            actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
            resources=[arn(service="sagemaker", resource="endpoint", resource_name=endpoint)],
        ),
        # CloudFormation names these after their logical id plus a random suffix: reached by the stack's tag.
        iam.PolicyStatement(
            sid="DescribeDeployedModel",
            actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            resources=[
                arn(service="sagemaker", resource="endpoint-config", resource_name="*"),
                arn(service="sagemaker", resource="model", resource_name="*"),
            ],
            conditions={"StringLike": {f"aws:ResourceTag/{STACK_TAG_KEY}": endpoints.stack_name}},
        ),
        iam.PolicyStatement(
            sid="HashDeployedArtifact", actions=["s3:GetObject"], resources=[endpoints.artifact_objects_arn]
        ),
    ]
    if endpoints.reads_stack_outputs:
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
    "their names (logical id + random suffix), so the grant is conditioned on the stack's tag instead.",
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
