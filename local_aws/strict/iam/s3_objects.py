"""What an S3 object call needs beyond its own action, for a caller whose calls are authorized.

- `s3-missing-object-list-bucket`: reading an object that does not exist answers 404 `NoSuchKey` only to a
  caller that may `s3:ListBucket` the bucket; anyone else gets 403 `AccessDenied` (API Reference, GetObject
  and HeadObject, "Permissions"). AWS does not say whether a `s3:prefix` condition on that grant counts; the
  request carries no prefix, so here it does not (the worse case).
- `s3-sse-kms-caller`: writing into a bucket whose default encryption is SSE-KMS with a customer managed key
  needs `kms:GenerateDataKey` on that key, and reading such an object needs `kms:Decrypt` (S3 User Guide,
  "Using server-side encryption with AWS KMS keys (SSE-KMS)", permissions). S3 calls KMS for the caller, so
  the request carries `kms:ViaService` = `s3.<region>.amazonaws.com` and the key's tags as
  `aws:ResourceTag/*`. The AWS managed key (`aws/s3`) is exempt: its key policy lets every principal of the
  account use it through S3.
"""

from __future__ import annotations

from typing import Any

from local_aws import backends
from local_aws.config import ACCOUNT_ID, REGION
from local_aws.rules import enforced
from local_aws.strict.iam.policy import AuthorizationRequest, ContextValue

S3_ARN_PREFIX = "arn:aws:s3:::"
KMS = "aws:kms"
AWS_MANAGED_S3_KEY = "alias/aws/s3"
VIA_S3 = f"s3.{REGION}.amazonaws.com"


def dependent_requests(method: str, resource: str, headers: Any) -> list[AuthorizationRequest]:
    """The further requests an object call (`resource` an object's ARN) is authorized on, in AWS's order."""
    bucket_name, _, key_name = resource.removeprefix(S3_ARN_PREFIX).partition("/")
    bucket = _bucket(bucket_name)
    if bucket is None or not key_name:
        return []
    if method in ("GET", "HEAD"):
        stored = bucket.keys.get(key_name)
        if stored is None:
            listing = AuthorizationRequest("s3:ListBucket", f"{S3_ARN_PREFIX}{bucket_name}")
            return [listing] if enforced("s3-missing-object-list-bucket") else []
        key_id = stored.kms_key_id if stored.encryption == KMS else _default_key(bucket)
        return _kms("kms:Decrypt", key_id) if method == "GET" else []
    if method == "PUT" and "x-amz-copy-source" not in headers:
        asked = headers.get("x-amz-server-side-encryption")
        key_id = headers.get("x-amz-server-side-encryption-aws-kms-key-id") if asked == KMS else None
        return _kms("kms:GenerateDataKey", key_id if asked else _default_key(bucket))
    return []


def _bucket(name: str) -> Any:
    try:
        return backends.s3().get_bucket(name)
    except Exception:  # moto's MissingBucket: the call itself answers NoSuchBucket
        return None


def _default_key(bucket: Any) -> str | None:
    """The customer managed key of the bucket's default SSE-KMS encryption, or None."""
    default = ((bucket.encryption or {}).get("Rule") or {}).get("ApplyServerSideEncryptionByDefault") or {}
    return default.get("KMSMasterKeyID") if default.get("SSEAlgorithm") == KMS else None


def _kms(action: str, key_id: str | None) -> list[AuthorizationRequest]:
    if not key_id or key_id.endswith(AWS_MANAGED_S3_KEY) or not enforced("s3-sse-kms-caller"):
        return []
    return [kms_request(action, key_id)]


def kms_request(action: str, key_id: str) -> AuthorizationRequest:
    """What S3 asks of KMS for its caller on `key_id` (any KeyId form): `action` on the key's ARN, with the key's
    tags as `aws:ResourceTag/*` and `kms:ViaService` = S3. The one home of that request, for S3's own callers and
    for SageMaker's jobs, whose reads and writes reach KMS through S3 as well."""
    kms = backends.kms()
    bare = (kms.get_key_id_from_alias(kms.get_alias_name(key_id)) if "alias/" in key_id else None) or (
        kms.get_key_id(key_id)
    )
    stored = kms.list_resource_tags(bare)["Tags"] if bare in kms.keys else []
    tags: dict[str, ContextValue] = {f"aws:ResourceTag/{tag['TagKey']}": tag["TagValue"] for tag in stored}
    return _kms_request(action, bare, tags)


def _kms_request(action: str, key_id: str, tags: dict[str, ContextValue]) -> AuthorizationRequest:
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"
    return AuthorizationRequest(action, arn, {**tags, "kms:ViaService": VIA_S3})
