"""The stacks' names: the one place that says what each stack, stage stack and their resources are called."""

from __future__ import annotations

from contract.stack import STACK_BASE_NAME

PIPELINE_STACK_NAME = "KMeansPipeline"
GITHUB_OIDC_STACK_NAME = "KMeansGitHubOidc"


def stage_stack_name(stage: str) -> str:
    """The stage is part of every physical name: the stack's, hence the endpoint's and its log group's."""
    return f"{STACK_BASE_NAME}-{stage}"


STAGE_STACKS_PATTERN = stage_stack_name("*")


def sagemaker_arn_name(name: str) -> str:
    """A name as SageMaker writes it in endpoint, endpoint-config and model ARNs: lower case (IAM is case-sensitive)."""
    return name.lower()


STACK_TAG_KEY = "kmeans-byom:stack"
"""Tags the stack's Model and EndpointConfig with the stack's name. CloudFormation names them after their
logical id plus a random suffix (no stack prefix), so grants reach them by this tag (aws:ResourceTag)."""
