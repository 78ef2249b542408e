"""Reading a CloudFormation template: what a resource points at."""

from __future__ import annotations

from typing import Any


def references(value: Any) -> set[str]:
    """Logical ids that `value` (a resource's JSON) points at through Ref or Fn::GetAtt."""
    if isinstance(value, list):
        return set().union(*map(references, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set().union(*map(references, value.values())) if value else set()
    if isinstance(value.get("Ref"), str):
        found.add(value["Ref"])
    attribute = value.get("Fn::GetAtt")
    if isinstance(attribute, list) and attribute:
        found.add(attribute[0])
    elif isinstance(attribute, str):
        found.add(attribute.split(".")[0])
    return found
