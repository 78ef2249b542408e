"""The endpoint's log group, owned by the stack so `cdk destroy` removes it."""

from __future__ import annotations

from aws_cdk import Arn, ArnComponents, ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.settings import Settings

RETENTION = logs.RetentionDays
RETENTION_BY_DAYS = {
    1: RETENTION.ONE_DAY,
    3: RETENTION.THREE_DAYS,
    5: RETENTION.FIVE_DAYS,
    7: RETENTION.ONE_WEEK,
    14: RETENTION.TWO_WEEKS,
    30: RETENTION.ONE_MONTH,
    60: RETENTION.TWO_MONTHS,
    90: RETENTION.THREE_MONTHS,
    120: RETENTION.FOUR_MONTHS,
    150: RETENTION.FIVE_MONTHS,
    180: RETENTION.SIX_MONTHS,
    365: RETENTION.ONE_YEAR,
    400: RETENTION.THIRTEEN_MONTHS,
    545: RETENTION.EIGHTEEN_MONTHS,
    731: RETENTION.TWO_YEARS,
    1096: RETENTION.THREE_YEARS,
    1827: RETENTION.FIVE_YEARS,
    2192: RETENTION.SIX_YEARS,
    2557: RETENTION.SEVEN_YEARS,
    2922: RETENTION.EIGHT_YEARS,
}


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
        self, scope: Construct, construct_id: str, *, settings: Settings, endpoint_name: str, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=endpoint_log_group_name(endpoint_name),
            retention=RETENTION_BY_DAYS[settings.log_retention_days],
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
