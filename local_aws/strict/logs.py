"""AWS::Logs::LogGroup updates in CloudFormation (`cfn-log-group-update`).

moto has no update for a log group (the abstract base answers None: the stack loses the group, the old one stays
and a new one is never made). A new LogGroupName replaces the group, the old one deleted in the cleanup phase; any
other change (retention, key) updates it in place.
"""

from __future__ import annotations

from typing import Any

from moto.logs.models import LogGroup

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.cloudformation.stacks import defer_cleanup
from local_aws.strict.originals import original


def update_log_group(
    original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> Any:
    """Replace a renamed group (the old one goes in cleanup); otherwise set its retention in place."""
    if not enforced("cfn-log-group-update"):
        return original(LogGroup, "update_from_cloudformation_json")(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
    properties = cloudformation_json.get("Properties", {})
    name = properties.get("LogGroupName", original_resource.name)
    if name == original_resource.name:
        original_resource.retention_in_days = properties.get("RetentionInDays")
        return original_resource
    replacement = LogGroup.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)
    old = original_resource.name
    defer_cleanup(account_id, region_name, lambda: backends.logs(account_id, region_name).delete_log_group(old))
    return replacement
