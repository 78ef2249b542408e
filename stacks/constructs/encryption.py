"""The KMS key for volumes, logs and captured data: brought by the user or made here."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, kms_key_arn: str | None, log_group_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key.from_key_arn(self, "Imported", kms_key_arn) if kms_key_arn else _own_key(self, log_group_arn)
        self.key_arn = self.key.key_arn


def _own_key(scope: Construct, log_group_arn: str) -> kms.IKey:
    key = kms.Key(
        scope,
        "Key",
        description="kmeans-byom endpoint volumes, logs and captured data",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=Duration.days(7),
    )
    key.add_to_resource_policy(_logs_may_use(log_group_arn))
    return key


def _logs_may_use(log_group_arn: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.{Aws.URL_SUFFIX}")],
        actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources=["*"],
        conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
    )
