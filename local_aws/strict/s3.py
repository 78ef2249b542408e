"""AWS::S3::Bucket in CloudFormation (`cfn-delete-failed`): a bucket that still holds objects cannot be
deleted; moto deletes the stack and silently leaves the bucket behind, CloudFormation fails the resource
(BucketNotEmpty). The stack's side of it is in cloudformation/stacks.py."""

from __future__ import annotations

from typing import Any

from moto.s3.models import FakeBucket

from local_aws import backends
from local_aws.rules import enforced
from local_aws.strict.cloudformation.stacks import ResourceHandlerError
from local_aws.strict.originals import original


class BucketNotEmptyError(ResourceHandlerError):
    """What CloudFormation reports for a bucket it cannot delete."""


def delete_bucket(resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    if not enforced("cfn-delete-failed"):
        original(FakeBucket, "delete_from_cloudformation_json")(
            resource_name, cloudformation_json, account_id, region_name
        )
        return
    backend = backends.s3(account_id, region_name)
    if backend.get_bucket(resource_name).keys:
        raise BucketNotEmptyError(f"{resource_name}: The bucket you tried to delete is not empty (BucketNotEmpty)")
    backend.delete_bucket(resource_name)
