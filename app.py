#!/usr/bin/env python3
"""CDK app: composes the k-means endpoint stack (see stacks.composition)."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from stacks.composition import compose
from stacks.settings import SettingsError


def synthesize(app: cdk.App) -> None:
    """Compose `app` from its context and write the cloud assembly; a bad setting exits with one line."""
    try:
        compose(app)
    except SettingsError as error:
        sys.exit(f"error: {error}")
    app.synth()


def main() -> None:
    synthesize(cdk.App())


if __name__ == "__main__":
    main()
