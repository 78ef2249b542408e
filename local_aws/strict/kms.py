"""AWS::KMS::Key in CloudFormation (`cfn-kms-key-tags`): its tags are {Key, Value}, as everywhere in
CloudFormation; moto reads them as the KMS API's {TagKey, TagValue} and fails on any tagged key. They are
now translated first.

`cfn-kms-key-update`: moto has no update for a key (the abstract base answers None, and the stack then loses
the key: every `Fn::GetAtt` of it fails). A changed KeyPolicy, Description, Tags, EnableKeyRotation or Enabled
updates the key in place, as CloudFormation does (AWS::KMS::Key: each "Update requires: No interruption"; the
registry schema lists none of them as create-only): the tags become exactly the template's (a tag left out is
removed), rotation and the key's state follow the template, their defaults (rotation off, enabled) when absent."""

from __future__ import annotations

import json
from typing import Any

from moto.kms.models import Key

from local_aws import backends
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
    backend = backends.kms(account_id, region_name)
    _update_tags(backend, original_resource.id, properties.get("Tags", []))
    rotate = _flag(properties.get("EnableKeyRotation", False))
    (backend.enable_key_rotation if rotate else backend.disable_key_rotation)(original_resource.id)
    enabled = _flag(properties.get("Enabled", True))
    (backend.enable_key if enabled else backend.disable_key)(original_resource.id)
    return original_resource


def _update_tags(backend: Any, key_id: str, template_tags: list[dict[str, str]]) -> None:
    wanted = {tag["Key"]: tag["Value"] for tag in template_tags}
    current = {tag["TagKey"] for tag in backend.list_resource_tags(key_id)["Tags"]}
    if current - wanted.keys():
        backend.untag_resource(key_id, sorted(current - wanted.keys()))
    if wanted:
        backend.tag_resource(key_id, wanted)


def _flag(value: Any) -> bool:
    """A template boolean: true or "true" (CloudFormation passes parameters and literals as either)."""
    return value is True or str(value).lower() == "true"
