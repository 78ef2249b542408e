"""AWS::KMS::Key in CloudFormation (`cfn-kms-key-tags`): its tags are {Key, Value}, as everywhere in
CloudFormation; moto reads them as the KMS API's {TagKey, TagValue} and fails on any tagged key. They are
now translated first."""

from __future__ import annotations

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
