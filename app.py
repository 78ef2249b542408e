#!/usr/bin/env python3
"""CDK app: composes the k-means endpoint stack and runs cdk-nag over it."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from stacks.endpoint_stack import KMeansEndpointStack
from stacks.settings import SettingsError, settings_from_context

DEFAULT_STACK_NAME = "KMeansEndpoint"


def main() -> None:
    app = cdk.App()
    try:
        settings = settings_from_context(app.node.get_all_context())
    except SettingsError as error:
        sys.exit(f"error: {error}")
    KMeansEndpointStack(app, DEFAULT_STACK_NAME, settings=settings)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    app.synth()


if __name__ == "__main__":
    main()
