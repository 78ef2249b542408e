"""Which buckets a stack deletes on destroy, and emptying one of every object version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from contract.stack import DELETED_STATUS, describe_stack, is_missing_stack

BUCKET_TYPE = "AWS::S3::Bucket"
# CloudFormation deletes a resource unless its DeletionPolicy says otherwise.
DELETED_BY_DEFAULT = "Delete"
MISSING_BUCKET_CODES = {"NoSuchBucket"}


class TeardownError(Exception):
    """A stack or bucket this tool cannot work on; one line for the user."""


@dataclass(frozen=True)
class StackBucket:
    logical_id: str
    name: str


def stack_exists(cloudformation: Any, stack_name: str) -> bool:
    try:
        stack = describe_stack(stack_name, cloudformation)
    except ClientError as error:
        if is_missing_stack(error):
            return False
        raise
    return stack.status != DELETED_STATUS


def buckets_deleted_with(cloudformation: Any, stack_name: str) -> list[StackBucket]:
    """The stack's buckets whose DeletionPolicy lets `cdk destroy` delete them (retained ones are left alone)."""
    policies = _deletion_policies(cloudformation, stack_name)
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
    return [
        StackBucket(logical_id=resource["LogicalResourceId"], name=resource["PhysicalResourceId"])
        for page in pages
        for resource in page["StackResourceSummaries"]
        if resource["ResourceType"] == BUCKET_TYPE
        and resource.get("PhysicalResourceId")
        and policies.get(resource["LogicalResourceId"], DELETED_BY_DEFAULT) == DELETED_BY_DEFAULT
    ]


def _deletion_policies(cloudformation: Any, stack_name: str) -> dict[str, str]:
    body = cloudformation.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as error:
            raise TeardownError(f"stack {stack_name}: its template is not JSON ({error})") from error
    resources = body.get("Resources", {}) if isinstance(body, dict) else {}
    return {logical: str(resource.get("DeletionPolicy", DELETED_BY_DEFAULT)) for logical, resource in resources.items()}


def object_versions(s3: Any, bucket: str) -> Iterator[list[dict[str, str]]]:
    """Every object version and delete marker, a page (at most 1,000: one DeleteObjects call) at a time."""
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            yield _entries(page)
    except ClientError as error:
        if error.response["Error"]["Code"] not in MISSING_BUCKET_CODES:
            raise


def count_versions(s3: Any, bucket: str) -> int:
    return sum(len(page) for page in object_versions(s3, bucket))


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many went. A missing bucket is empty.

    Lists the first page again after each delete rather than following markers, which a listing
    that shrinks underneath them makes unreliable.
    """
    deleted, previous = 0, None
    while page := _first_page(s3, bucket):
        if page == previous:
            raise TeardownError(f"s3://{bucket}: DeleteObjects reported success but {page[0]['Key']} is still there")
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": page, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise TeardownError(
                f"s3://{bucket}: {len(answer['Errors'])} objects not deleted, "
                f"first {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )
        deleted, previous = deleted + len(page), page
    return deleted


def _first_page(s3: Any, bucket: str) -> list[dict[str, str]]:
    return next(object_versions(s3, bucket), [])


def _entries(page: dict[str, Any]) -> list[dict[str, str]]:
    entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
    return [{"Key": entry["Key"], "VersionId": entry["VersionId"]} for entry in entries]
