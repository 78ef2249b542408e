"""The KMS key for volumes, logs and captured data: brought by the user or made here."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.settings import Settings


class EncryptionKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, log_group_arn: str) -> None:
        super().__init__(scope, construct_id)
        if settings.kms_key_arn:
            self.key: kms.IKey = kms.Key.from_key_arn(self, "Imported", settings.kms_key_arn)
            return
        key = kms.Key(
            self,
            "Key",
            description="kmeans-byom endpoint volumes, logs and captured data",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(_logs_may_use(log_group_arn))
        self.key = key


def _logs_may_use(log_group_arn: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.{Aws.URL_SUFFIX}")],
        actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources=["*"],
        conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
    )
