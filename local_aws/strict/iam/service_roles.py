"""What SageMaker may do as a role it was given: a model's execution role, a training or processing job's role.

The one home of that question for the job engine, provisioning and the job types: the principal is the role's
session (SageMaker's own session name unless a job names another), and the keys S3 uses on a job's behalf (a job
reads and writes SSE-KMS objects, so `kms:Decrypt` and `kms:GenerateDataKey` reach KMS through S3) are asked as S3
asks them, `kms:ViaService` and the key's tags included (`s3_objects.kms_request`).
"""

from __future__ import annotations

from collections.abc import Mapping

from local_aws.config import ACCOUNT_ID, EXECUTION_ROLE_SESSION_NAME
from local_aws.strict.iam.policy import AuthorizationRequest
from local_aws.strict.iam.principals import judge
from local_aws.strict.iam.s3_objects import kms_request

KMS_VIA_S3 = frozenset({"kms:Decrypt", "kms:GenerateDataKey"})  # what S3 asks KMS for, for an SSE-KMS object


def role_may(
    role_arn: str,
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
    *,
    session: str = EXECUTION_ROLE_SESSION_NAME,
) -> str | None:
    """None when SageMaker, acting as `role_arn`, may do `action` on `resource`, else IAM's message."""
    principal = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session}"
    if action in KMS_VIA_S3:
        request = kms_request(action, resource)
    else:
        request = AuthorizationRequest(action, resource, dict(context or {}))
    verdict = judge(role_arn, principal, request)
    return None if verdict.allowed else verdict.message
