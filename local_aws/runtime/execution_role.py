"""The asynchronous runtime acts as an endpoint's execution role: S3 and SNS clients with that role's credentials.

SageMaker reads an asynchronous request's input, writes its answer (or its failure) and publishes its notification
with the role the endpoint's Model names (developer guide "Asynchronous inference: Prerequisites": the role needs
s3:GetObject and s3:PutObject on the bucket and sns:Publish on the topics; "Check prediction results": "your IAM
role must have sns:Publish permissions"). So the runtime assumes that role (session `SageMaker`, which the control
plane authorizes as it does `run --as` sessions) and makes those calls with its credentials: S3 then checks
s3:GetObject / s3:PutObject and, for SSE-KMS, kms:Decrypt / kms:GenerateDataKey with `kms:ViaService` and the
key's tags exactly as for any caller (rule `s3-sse-kms-caller`), and SNS checks sns:Publish on the topic.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3

from local_aws.config import EXECUTION_ROLE_SESSION_NAME, REGION

CREDENTIALS_TTL_S = 600.0  # assumed for an hour; taken again well before that
DURATION_S = 3600


@dataclass(frozen=True)
class RoleClients:
    """What an asynchronous request is answered with: S3 (input, answer, failure) and SNS (notifications)."""

    s3: Any
    sns: Any


class ExecutionRoleSessions:
    """`clients(role_arn)`: S3 and SNS clients acting as the role, its credentials cached for a while."""

    def __init__(self, sts: Any, endpoint_url: str, ttl_s: float = CREDENTIALS_TTL_S) -> None:
        self.sts = sts
        self.endpoint_url = endpoint_url
        self.ttl_s = ttl_s
        self._cached: dict[str, tuple[float, RoleClients]] = {}
        self._lock = threading.Lock()

    def clients(self, role_arn: str) -> RoleClients:
        """Clients acting as `role_arn`; raises botocore's ClientError when the role cannot be assumed."""
        with self._lock:
            cached = self._cached.get(role_arn)
            if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
                return cached[1]
        assumed = self.sts.assume_role(
            RoleArn=role_arn, RoleSessionName=EXECUTION_ROLE_SESSION_NAME, DurationSeconds=DURATION_S
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=assumed["AccessKeyId"],
            aws_secret_access_key=assumed["SecretAccessKey"],
            aws_session_token=assumed["SessionToken"],
            region_name=REGION,
        )
        made = RoleClients(
            session.client("s3", endpoint_url=self.endpoint_url), session.client("sns", endpoint_url=self.endpoint_url)
        )
        with self._lock:
            self._cached[role_arn] = (time.monotonic(), made)
        return made
