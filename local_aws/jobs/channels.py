"""A job's input channels: the S3 objects an `S3DataSource` names, and how they are dealt to instances.

`S3DataType`: `S3Prefix` (every object whose key starts with the prefix) or `ManifestFile` (a JSON list:
`[{"prefix": "s3://bucket/folder/"}, "relative/key", ...]`, API S3DataSource and TransformS3DataSource).
`S3DataDistributionType`: `ShardedByS3Key` deals the objects to the instances round-robin, `FullyReplicated`
gives every instance every object (API S3DataSource; batch transform always shards by key, developer guide
"Batch transform"). Worker processes import this module: it stays free of moto.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from local_aws.config import ACCOUNT_ID, REGION
from local_aws.jobs.lifecycle import JobFailedError

S3_PREFIX, MANIFEST_FILE = "S3Prefix", "ManifestFile"
# The account's AWS managed key for S3: what SSE-KMS uses when no key is named. Its key policy lets every
# principal of the account use it through S3, so no identity policy needs to grant it (KMS developer guide,
# "AWS managed keys").
AWS_MANAGED_S3_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:alias/aws/s3"
SHARDED_BY_S3_KEY, FULLY_REPLICATED = "ShardedByS3Key", "FullyReplicated"
Item = TypeVar("Item")


@dataclass(frozen=True)
class Channel:
    """One input: its name (`train`, `test`; batch transform has one), where its objects are, how they are dealt."""

    name: str
    s3_uri: str
    data_type: str = S3_PREFIX
    distribution: str = FULLY_REPLICATED


@dataclass(frozen=True)
class S3Object:
    """One input object; `relative` is its key below the channel's prefix (or as the manifest lists it)."""

    bucket: str
    key: str
    relative: str

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key}"


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")


def split_s3_uri(uri: str) -> tuple[str, str]:
    without = uri.removeprefix("s3://")
    bucket, _, key = without.partition("/")
    return bucket, key


def list_objects(s3: Any, channel: Channel) -> list[S3Object]:
    """The channel's objects, in key order (or manifest order); a channel with none fails the job."""
    bucket, prefix = split_s3_uri(channel.s3_uri)
    if channel.data_type == MANIFEST_FILE:
        objects = manifest_objects(s3, bucket, prefix)
    else:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        objects = [S3Object(bucket, key, relative_key(prefix, key)) for key in keys]
    if not objects:
        raise JobFailedError(f"ClientError: no objects found under {channel.s3_uri}")
    return objects


def encryption_key(s3: Any, item: S3Object) -> str | None:
    """The KMS key an SSE-KMS object was encrypted with (HeadObject's SSEKMSKeyId), or None."""
    head = s3.head_object(Bucket=item.bucket, Key=item.key)
    if head.get("ServerSideEncryption") != "aws:kms":
        return None
    return str(head.get("SSEKMSKeyId") or AWS_MANAGED_S3_KEY)


def kms_key_arn(endpoint: str, key_id: str) -> str:
    """A key's ARN from any of KMS's KeyId forms (id, ARN, alias name, alias ARN); an alias KMS cannot resolve
    stays as given (IAM then matches it against no key's ARN: the stricter reading)."""
    import boto3
    from botocore.exceptions import ClientError

    if key_id.endswith("alias/aws/s3"):
        return AWS_MANAGED_S3_KEY
    if ":key/" in key_id:
        return key_id
    if "alias/" not in key_id:
        return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"
    kms = boto3.session.Session().client("kms", endpoint_url=endpoint, region_name=REGION)
    try:
        return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
    except ClientError:
        return key_id


def relative_key(prefix: str, key: str) -> str:
    """The key below the prefix's folder: s3://b/in/ or s3://b/in hold in/a.csv -> a.csv; s3://b/in/pa -> part-1.csv."""
    folder = prefix.rstrip("/") + "/"
    if key.startswith(folder):
        return key[len(folder) :]
    return key.removeprefix(prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else "")


def manifest_objects(s3: Any, bucket: str, key: str) -> list[S3Object]:
    """A manifest: `[{"prefix": "s3://bucket/folder/"}, "relative/key", ...]`."""
    try:
        entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        base_bucket, base_prefix = split_s3_uri(entries[0]["prefix"])
        return [S3Object(base_bucket, base_prefix + relative, relative) for relative in entries[1:]]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise JobFailedError(f"ClientError: s3://{bucket}/{key} is not a manifest file ({error})") from error


def deal(objects: list[Item], instances: int, distribution: str) -> list[list[Item]]:
    """Each instance's objects: dealt round-robin by key (ShardedByS3Key) or all of them (FullyReplicated)."""
    if distribution == SHARDED_BY_S3_KEY:
        return [objects[index::instances] for index in range(instances)]
    return [list(objects) for _ in range(instances)]


def shares(inputs: dict[Channel, list[S3Object]], instances: int) -> list[dict[str, list[S3Object]]]:
    """Each instance's objects per channel name, every channel dealt by its own distribution."""
    dealt = {channel.name: deal(objects, instances, channel.distribution) for channel, objects in inputs.items()}
    return [{name: per_instance[index] for name, per_instance in dealt.items()} for index in range(instances)]
