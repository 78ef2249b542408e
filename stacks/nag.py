"""cdk-nag acknowledgement helpers: each acknowledgement names one full finding id and says why."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

AWS_SOLUTIONS = "AwsSolutions::AwsSolutions"
NIST = "NIST.800.53.R5::NIST.800.53.R5"


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_wildcard_resource(construct: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for `resource` (an ARN, tokens allowed), spelled as cdk-nag spells it."""
    acknowledge(construct, f"{AWS_SOLUTIONS}-IAM5[Resource::{nag_form(construct, resource)}]", reason)


def nag_form(scope: IConstruct, value: str) -> str:
    """How cdk-nag writes a resource in a finding id: `<AWS::Region>` for a Ref, `<Bucket.Arn>` for a GetAtt."""
    return _render(Stack.of(scope).resolve(value))


def _render(node: Any) -> str:
    if isinstance(node, str):
        return node
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return str(separator).join(_render(part) for part in parts)
    if "Fn::GetAtt" in node:
        return "<{}.{}>".format(*node["Fn::GetAtt"])
    if "Ref" in node:
        return f"<{node['Ref']}>"
    raise ValueError(f"cdk-nag form of {node!r} is not known here")
