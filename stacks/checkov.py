"""checkov skips, written into the template as resource metadata, each with its reason."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_check(construct: IConstruct, check_id: str, reason: str) -> None:
    """Record a checkov skip on the CloudFormation resource behind `construct`."""
    resource = construct.node.default_child if not isinstance(construct, CfnResource) else construct
    assert isinstance(resource, CfnResource), f"{construct.node.path} has no CloudFormation resource"
    skips = resource.get_metadata("checkov") or {"skip": []}
    skips["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", skips)
