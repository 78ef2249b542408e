"""EndpointConfig (unnamed, replaced on change) and the Endpoint (stable name, blue/green updates)."""

from __future__ import annotations

import math

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.settings import Settings

SM = sagemaker.CfnEndpoint
TRAFFIC_TYPES = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
MIN_EXECUTION_TIMEOUT_S = 600
MAX_EXECUTION_TIMEOUT_S = 14_400


def traffic_shifts(settings: Settings) -> int:
    """How many waits a blue/green update goes through before the old fleet is retired."""
    if settings.deployment_policy == "linear":
        return math.ceil(100 / settings.deployment_step_percent)
    return 1


def execution_timeout_s(settings: Settings) -> int:
    """Room for every wait and the termination wait, with 10 minutes for provisioning."""
    waits = traffic_shifts(settings) * settings.deployment_wait_seconds + settings.deployment_termination_wait_seconds
    return max(MIN_EXECUTION_TIMEOUT_S, min(MAX_EXECUTION_TIMEOUT_S, waits + MIN_EXECUTION_TIMEOUT_S))


class EndpointConfig(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        model_name: str,
        key_arn: str,
        capture_destination: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        capture = _capture_config(settings, key_arn, capture_destination)
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[_variant(settings, model_name)],
            kms_key_id=key_arn if settings.volume_key_allowed else None,
            data_capture_config=capture,
        )


def _variant(settings: Settings, model_name: str) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    if settings.serverless:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=settings.variant_name,
            model_name=model_name,
            serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=settings.serverless_memory_mb or 0,
                max_concurrency=settings.serverless_max_concurrency or 0,
            ),
        )
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=settings.variant_name,
        model_name=model_name,
        initial_variant_weight=1.0,
        instance_type=settings.instance_type,
        initial_instance_count=settings.instance_count,
    )


def _capture_config(
    settings: Settings, key_arn: str, destination: str | None
) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | None:
    if destination is None:
        return None
    return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        enable_capture=True,
        initial_sampling_percentage=settings.data_capture_sampling_percent,
        destination_s3_uri=destination,
        kms_key_id=key_arn,
        capture_options=[
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
        ],
        capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
            csv_content_types=["text/csv"], json_content_types=["application/json"]
        ),
    )


class Endpoint(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        endpoint_name: str,
        config_name: str,
        rollback_alarms: list[cloudwatch.Alarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=config_name,
            # Serverless endpoints take blue/green guardrails too; only rolling updates exclude them.
            deployment_config=_deployment(settings, rollback_alarms),
        )


def _deployment(settings: Settings, alarms: list[cloudwatch.Alarm]) -> SM.DeploymentConfigProperty:
    return SM.DeploymentConfigProperty(
        blue_green_update_policy=SM.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=_traffic_routing(settings),
            termination_wait_in_seconds=settings.deployment_termination_wait_seconds,
            maximum_execution_timeout_in_seconds=execution_timeout_s(settings),
        ),
        auto_rollback_configuration=SM.AutoRollbackConfigProperty(
            alarms=[SM.AlarmProperty(alarm_name=alarm.alarm_name) for alarm in alarms]
        ),
    )


def _traffic_routing(settings: Settings) -> SM.TrafficRoutingConfigProperty:
    step = SM.CapacitySizeProperty(type="CAPACITY_PERCENT", value=settings.deployment_step_percent)
    return SM.TrafficRoutingConfigProperty(
        type=TRAFFIC_TYPES[settings.deployment_policy],
        wait_interval_in_seconds=settings.deployment_wait_seconds,
        canary_size=step if settings.deployment_policy == "canary" else None,
        linear_step_size=step if settings.deployment_policy == "linear" else None,
    )
