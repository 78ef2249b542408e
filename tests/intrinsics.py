"""Resolve the CloudFormation intrinsics a synthesized IAM policy holds, as a deploy to the local AWS would."""

from __future__ import annotations

import re
from typing import Any

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


def resolve(value: Any) -> Any:
    """Ref to pseudo parameters, Fn::Join and Fn::Sub over them; anything else is refused."""
    if isinstance(value, list):
        return [resolve(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return PSEUDO[value["Ref"]]
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part)) for part in parts)
    if "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda found: PSEUDO[found.group(1)], value["Fn::Sub"])
    if any(key.startswith("Fn::") for key in value):
        raise ValueError(f"cannot resolve {value}")
    return {key: resolve(item) for key, item in value.items()}
