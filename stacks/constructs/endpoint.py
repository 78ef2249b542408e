"""EndpointConfig (unnamed, replaced on change) and the Endpoint (stable name, blue/green updates)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.nag import NIST, acknowledge
from stacks.settings import Capacity, Deployment

SM = sagemaker.CfnEndpoint
TRAFFIC_TYPES = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
MIN_EXECUTION_TIMEOUT_S = 600
MAX_EXECUTION_TIMEOUT_S = 14_400


@dataclass(frozen=True)
class CaptureTarget:
    """Where data capture writes, and what share of requests it keeps."""

    destination_uri: str
    sampling_percent: int


def traffic_shifts(deployment: Deployment) -> int:
    """How many waits a blue/green update goes through before the old fleet is retired."""
    if deployment.policy == "linear":
        return math.ceil(100 / deployment.step_percent)
    return 1


def execution_timeout_s(deployment: Deployment) -> int:
    """Room for every wait and the termination wait, with 10 minutes for provisioning."""
    waits = traffic_shifts(deployment) * deployment.wait_seconds + deployment.termination_wait_seconds
    return max(MIN_EXECUTION_TIMEOUT_S, min(MAX_EXECUTION_TIMEOUT_S, waits + MIN_EXECUTION_TIMEOUT_S))


class EndpointConfig(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_name: str,
        capacity: Capacity,
        key_arn: str,
        capture: CaptureTarget | None,
    ) -> None:
        super().__init__(scope, construct_id)
        config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[_variant(capacity, model_name)],
            kms_key_id=key_arn if capacity.volume_key_allowed else None,
            data_capture_config=_capture_config(capture, key_arn) if capture else None,
        )
        self.config_name = config.attr_endpoint_config_name
        if not capacity.volume_key_allowed:
            acknowledge(
                self,
                f"{NIST}-SageMakerEndpointConfigurationKMSKeyConfigured",
                f"{capacity.instance_type} has local NVMe storage, which AWS encrypts in hardware; "
                "CreateEndpointConfig refuses a KmsKeyId for such instance types.",
            )


def _variant(capacity: Capacity, model_name: str) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    if capacity.serverless:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=capacity.variant_name,
            model_name=model_name,
            serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=capacity.serverless_memory_mb or 0,
                max_concurrency=capacity.serverless_max_concurrency or 0,
            ),
        )
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=capacity.variant_name,
        model_name=model_name,
        initial_variant_weight=1.0,
        instance_type=capacity.instance_type,
        initial_instance_count=capacity.instance_count,
    )


def _capture_config(capture: CaptureTarget, key_arn: str) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
    return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        enable_capture=True,
        initial_sampling_percentage=capture.sampling_percent,
        destination_s3_uri=capture.destination_uri,
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
        endpoint_name: str,
        config_name: str,
        deployment: Deployment,
        rollback_alarm_names: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        endpoint = SM(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=config_name,
            # Serverless endpoints take blue/green guardrails too; only rolling updates exclude them.
            deployment_config=_deployment(deployment, rollback_alarm_names),
        )
        self.endpoint_name = endpoint.attr_endpoint_name


def _deployment(deployment: Deployment, alarm_names: list[str]) -> SM.DeploymentConfigProperty:
    return SM.DeploymentConfigProperty(
        blue_green_update_policy=SM.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=_traffic_routing(deployment),
            termination_wait_in_seconds=deployment.termination_wait_seconds,
            maximum_execution_timeout_in_seconds=execution_timeout_s(deployment),
        ),
        auto_rollback_configuration=SM.AutoRollbackConfigProperty(
            alarms=[SM.AlarmProperty(alarm_name=name) for name in alarm_names]
        ),
    )


def _traffic_routing(deployment: Deployment) -> SM.TrafficRoutingConfigProperty:
    step = SM.CapacitySizeProperty(type="CAPACITY_PERCENT", value=deployment.step_percent)
    return SM.TrafficRoutingConfigProperty(
        type=TRAFFIC_TYPES[deployment.policy],
        wait_interval_in_seconds=deployment.wait_seconds,
        canary_size=step if deployment.policy == "canary" else None,
        linear_step_size=step if deployment.policy == "linear" else None,
    )
