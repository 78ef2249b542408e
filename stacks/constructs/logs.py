"""The endpoint's log group, owned by the stack so `cdk destroy` removes it."""

from __future__ import annotations

from aws_cdk import Arn, ArnComponents, ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.settings import LOG_RETENTION_DAYS


def endpoint_log_group_name(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def endpoint_log_group_arn(scope: Construct, endpoint_name: str) -> str:
    components = ArnComponents(
        service="logs",
        resource="log-group",
        resource_name=endpoint_log_group_name(endpoint_name),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return Arn.format(components, Stack.of(scope))


class EndpointLogGroup(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, endpoint_name: str, retention_days: int, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=endpoint_log_group_name(endpoint_name),
            retention=logs.RetentionDays[LOG_RETENTION_DAYS[retention_days]],
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
