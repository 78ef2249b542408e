"""What app.py composes, in one place the tests call too: settings, the stack, cdk-nag."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from stacks.endpoint_stack import KMeansEndpointStack
from stacks.settings import settings_from_context

DEFAULT_STACK_NAME = "KMeansEndpoint"


def compose(app: cdk.App) -> KMeansEndpointStack:
    """Add the endpoint stack to `app` from its context and put cdk-nag's packs on the app."""
    settings = settings_from_context(app.node.get_all_context())
    stack = KMeansEndpointStack(app, DEFAULT_STACK_NAME, settings=settings)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    return stack
