"""boto3 clients as the project's command-line tools make them: the default session, botocore's standard retries.

The region and endpoints come from the usual AWS environment variables (`AWS_REGION`, `AWS_ENDPOINT_URL`...),
so the same tool runs against AWS or the local AWS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NO_REGION = "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)"
STANDARD_RETRIES = {"mode": "standard", "max_attempts": 5}


class NoRegionError(ValueError):
    """Neither the environment nor the AWS config names a region."""


def aws_clients(services: Iterable[str], **config: Any) -> dict[str, Any]:
    """One client per service, keyed by its name; `config`: more botocore Config, e.g. read_timeout=70."""
    import boto3  # imported when a client is made: a tool's --help and its usage errors stay fast
    from botocore.config import Config

    session = boto3.session.Session()
    if session.region_name is None:
        raise NoRegionError(NO_REGION)
    settings = Config(retries=STANDARD_RETRIES, **config)
    return {name: session.client(name, config=settings) for name in services}
