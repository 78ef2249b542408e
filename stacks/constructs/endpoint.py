"""EndpointConfig (unnamed, replaced on change) and the Endpoint (stable name, blue/green updates)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from aws_facts.deployment import MAXIMUM_EXECUTION_TIMEOUT_S
from stacks.nag import NIST, acknowledge
from stacks.settings import Capacity, Deployment
from wire.media_types import CSV, JSON

SM = sagemaker.CfnEndpoint
TRAFFIC_TYPES = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
MIN_EXECUTION_TIMEOUT_S, MAX_EXECUTION_TIMEOUT_S = MAXIMUM_EXECUTION_TIMEOUT_S
SETTINGS_OWNED = [
    SM.VariantPropertyProperty(variant_property_type=kind) for kind in ("DesiredWeight", "DataCaptureConfig")
]


@dataclass(frozen=True)
class ServedModel:
    """One production variant: its name, the Model it serves and its share of the traffic."""

    variant_name: str
    model_name: str
    weight_percent: int


@dataclass(frozen=True)
class AsyncTarget:
    """Where an asynchronous endpoint writes answers and failures, who hears of them, and its concurrency."""

    output_uri: str
    failure_uri: str
    max_concurrent_invocations: int
    success_topic_arn: str | None
    error_topic_arn: str | None


@dataclass(frozen=True)
class CaptureTarget:
    """Where data capture writes, and what share of requests it keeps."""

    destination_uri: str
    sampling_percent: int


def execution_timeout_s(deployment: Deployment) -> int:
    """Room for every wait, the termination wait and provisioning; settings refuse more than AWS allows."""
    return max(MIN_EXECUTION_TIMEOUT_S, min(MAX_EXECUTION_TIMEOUT_S, deployment.needed_seconds))


class EndpointConfig(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        served: list[ServedModel],
        capacity: Capacity,
        key_arn: str,
        capture: CaptureTarget | None,
        shadow: ServedModel | None = None,
        asynchronous: AsyncTarget | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[_variant(capacity, model) for model in served],
            shadow_production_variants=[_variant(capacity, shadow)] if shadow else None,
            async_inference_config=_async_config(asynchronous, key_arn) if asynchronous else None,
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


def _variant(capacity: Capacity, served: ServedModel) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    if capacity.serverless:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=served.variant_name,
            model_name=served.model_name,
            # Stated only beside a challenger: a lone serverless variant keeps the template it always had.
            initial_variant_weight=served.weight_percent / 100 if served.weight_percent < 100 else None,
            serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=capacity.serverless_memory_mb or 0,
                max_concurrency=capacity.serverless_max_concurrency or 0,
            ),
        )
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=served.variant_name,
        model_name=served.model_name,
        initial_variant_weight=served.weight_percent / 100,
        instance_type=capacity.instance_type,
        initial_instance_count=capacity.instance_count,
    )


def _async_config(target: AsyncTarget, key_arn: str) -> sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty:
    notification = None
    if target.success_topic_arn or target.error_topic_arn:
        notification = sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
            success_topic=target.success_topic_arn, error_topic=target.error_topic_arn
        )
    return sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
        client_config=sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
            max_concurrent_invocations_per_instance=target.max_concurrent_invocations
        ),
        output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
            s3_output_path=target.output_uri,
            s3_failure_path=target.failure_uri,
            kms_key_id=key_arn,
            notification_config=notification,
        ),
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
            csv_content_types=[CSV], json_content_types=[JSON]
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
        retain_scaled_capacity: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        endpoint = SM(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=config_name,
            # Serverless endpoints take blue/green guardrails too; only rolling updates exclude them. An update that
            # adds or removes a variant takes none: SageMaker's default update (all at once, no alarms) applies.
            deployment_config=_deployment(deployment, rollback_alarm_names) if deployment.guarded else None,
            # Who owns each variant property (README, "Who owns what on a deploy"): the autoscaler owns
            # the instance count when it runs; the settings own the weight and data capture.
            retain_all_variant_properties=retain_scaled_capacity or None,
            exclude_retained_variant_properties=SETTINGS_OWNED if retain_scaled_capacity else None,
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
