"""What the verifier sends: the content types it checks, in batches under the variant's payload limit.

The bodies themselves (exact float32 text, JSON, RecordIO-protobuf) are written by the `wire` library, the
same one the local AWS reads them with.
"""

from __future__ import annotations

from typing import Any

from aws_facts.payloads import REAL_TIME_BODY_LIMIT, SERVERLESS_BODY_LIMIT
from wire.media_types import CSV, JSON, PROTOBUF

CONTENT_TYPES = (CSV, JSON, PROTOBUF)  # JSON Lines requests read as JSON ones do: not checked twice


def payload_limit(variant: dict[str, Any]) -> int:
    """The largest request body the variant takes: serverless endpoints take less."""
    return SERVERLESS_BODY_LIMIT if variant.get("ServerlessConfig") else REAL_TIME_BODY_LIMIT
