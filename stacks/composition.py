"""What app.py composes, in one place the tests call too: settings, the stack, cdk-nag."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from contract.stack import STACK_BASE_NAME
from stacks.endpoint_stack import KMeansEndpointStack
from stacks.names import GITHUB_OIDC_STACK_NAME, PIPELINE_STACK_NAME, stage_stack_name
from stacks.settings import SettingsError, settings_from_context
from stacks.stages import COMPOSITION_KEYS, load_stages, stage_settings

if TYPE_CHECKING:
    from stacks.pipeline_stack import PipelineStack

CONNECTION_ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[\w-]+$"
)
REPOSITORY_PATTERN = re.compile(r"^[\w.-]+/[\w.-]+$")


def compose(app: cdk.App) -> cdk.Stack:
    """The app's stack from its context: the endpoint (`-c stage=NAME` for a stage), or the pipeline."""
    context = app.node.get_all_context()
    if str(context.get("pipeline", "false")).lower() == "true":
        stack: cdk.Stack = compose_pipeline(app, context)
    elif context.get("github_repository"):
        stack = compose_github_oidc(app, context)
    else:
        stack = compose_endpoint(app, context)
    add_nag(app)
    return stack


def compose_endpoint(app: cdk.App, context: Mapping[str, Any]) -> KMeansEndpointStack:
    stage = context.get("stage")
    if stage:
        settings = stage_settings(context, stage, load_stages())
        stack = KMeansEndpointStack(app, stage_stack_name(stage), settings=settings)
    else:
        settings = settings_from_context(context, other_keys=COMPOSITION_KEYS)
        stack = KMeansEndpointStack(app, STACK_BASE_NAME, settings=settings)
    return stack


def compose_pipeline(app: cdk.App, context: Mapping[str, Any]) -> PipelineStack:
    """CDK Pipelines through every stage of stages.json; needs connection_arn and repository."""
    from stacks.pipeline_stack import PipelineSettings, PipelineStack

    pipeline_settings = PipelineSettings(
        connection_arn=_required(context, "connection_arn", CONNECTION_ARN_PATTERN, "a CodeConnections connection ARN"),
        repository=_required(context, "repository", REPOSITORY_PATTERN, "owner/name"),
        branch=str(context.get("branch") or "main"),
    )
    stages = load_stages()
    settings = {name: stage_settings(context, name, stages) for name in stages}
    return PipelineStack(app, PIPELINE_STACK_NAME, pipeline_settings=pipeline_settings, stages=settings)


def compose_github_oidc(app: cdk.App, context: Mapping[str, Any]) -> cdk.Stack:
    """The roles GitHub Actions assumes (`-c github_repository=owner/name`)."""
    from stacks.github_oidc_stack import GitHubOidcStack

    repository = _required(context, "github_repository", REPOSITORY_PATTERN, "owner/name")
    stages = load_stages()
    # The deploy role verifies every stage, with what each stage's settings ask; no build is needed for that.
    settings = {name: stage_settings(context, name, stages, check_artifact=False) for name in stages}
    return GitHubOidcStack(app, GITHUB_OIDC_STACK_NAME, repository=repository, stages=settings)


def _required(context: Mapping[str, Any], key: str, pattern: re.Pattern[str], allowed: str) -> str:
    value = context.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise SettingsError(f"context {key}: the pipeline needs {allowed}, got {value!r}")
    return value


def add_nag(app: cdk.App) -> None:
    """cdk-nag's AwsSolutions and NIST 800-53 R5 packs over everything in the app."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
