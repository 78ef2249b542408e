#!/usr/bin/env python3
"""CDK app: composes the k-means endpoint stack (see stacks.composition)."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from stacks.composition import compose
from stacks.settings import SettingsError


def main() -> None:
    app = cdk.App()
    try:
        compose(app)
    except SettingsError as error:
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
