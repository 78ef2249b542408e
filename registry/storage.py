"""Where a registered build's files go in S3: content-addressed keys, so a key names exactly one content.

`<prefix>/sha256/<hex>/<file name>`: the same file registered twice lands on the same key (and is not uploaded
again), two different files never share one, and a reader checks what it got against the hex in its key.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlparse

KEY_PREFIX: Final = "kmeans-byom/registry"
# The bucket `cdk bootstrap` makes in each account and region (CDK's default qualifier): every environment the
# stack deploys to has it, and the stack's own artifact asset already goes there.
DEFAULT_BUCKET: Final = "cdk-hnb659fds-assets-{account}-{region}"


def content_key(sha256: str, file_name: str) -> str:
    """The S3 key of a file whose content has this sha256."""
    return f"{KEY_PREFIX}/sha256/{sha256}/{file_name}"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key); ValueError for anything else."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return parsed.netloc, parsed.path.lstrip("/")
