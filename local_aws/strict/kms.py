"""AWS::KMS::Key in CloudFormation (`cfn-kms-key-tags`): its tags are {Key, Value}, as everywhere in
CloudFormation; moto reads them as the KMS API's {TagKey, TagValue} and fails on any tagged key. They are
now translated first.

`cfn-kms-key-update`: moto has no update for a key (the abstract base answers None, and the stack then loses
the key: every `Fn::GetAtt` of it fails). A changed KeyPolicy or Description updates the key in place, as
CloudFormation does ("Update requires: No interruption")."""

from __future__ import annotations

import json
from typing import Any

from moto.kms.models import Key

from local_aws.rules import enforced
from local_aws.strict.originals import original


def create_key(resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
    if not enforced("cfn-kms-key-tags"):
        return original(Key, "create_from_cloudformation_json")(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
    properties = cloudformation_json.get("Properties", {})
    tags = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags", [])]
    translated = {**cloudformation_json, "Properties": {**properties, "Tags": tags}}
    return original(Key, "create_from_cloudformation_json")(
        resource_name, translated, account_id, region_name, **kwargs
    )


def update_key(
    original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> Any:
    """The same key, with the template's policy and description."""
    if not enforced("cfn-kms-key-update"):
        return original(Key, "update_from_cloudformation_json")(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
    properties = cloudformation_json.get("Properties", {})
    policy = properties.get("KeyPolicy")
    if policy is not None:
        original_resource.policy = policy if isinstance(policy, str) else json.dumps(policy)
    if "Description" in properties:
        original_resource.description = properties["Description"]
    return original_resource
