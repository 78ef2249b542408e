"""What app.py composes, in one place the tests call too: settings, the stack, cdk-nag."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from stacks.endpoint_stack import KMeansEndpointStack
from stacks.settings import settings_from_context
from stacks.stages import COMPOSITION_KEYS, STACK_BASE_NAME, load_stages, stage_settings, stage_stack_name

DEFAULT_STACK_NAME = STACK_BASE_NAME


def compose(app: cdk.App) -> KMeansEndpointStack:
    """The endpoint stack from the app's context: `-c stage=NAME` picks a stage of stages.json."""
    context = app.node.get_all_context()
    stage = context.get("stage")
    if stage:
        settings = stage_settings(context, stage, load_stages())
        stack = KMeansEndpointStack(app, stage_stack_name(stage), settings=settings)
    else:
        settings = settings_from_context(context, other_keys=COMPOSITION_KEYS)
        stack = KMeansEndpointStack(app, DEFAULT_STACK_NAME, settings=settings)
    add_nag(app)
    return stack


def add_nag(app: cdk.App) -> None:
    """cdk-nag's AwsSolutions and NIST 800-53 R5 packs over everything in the app."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
